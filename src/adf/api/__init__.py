"""The public Python API; `adf` re-exports it lazily (see `adf/__init__.py`).

`flow.py` holds `Workflow` and its `Session`, `result.py` what calls,
evaluations and training runs return, `errors.py` the stable codes of a
failed call.
"""
