"""`adfc serve`: a workflow as an HTTP service (Starlette on uvicorn, the `serve` extra).

`app.py` builds the ASGI application around an `adf.Workflow`; `openapi.py`
writes its OpenAPI document from the workflow's declared types; `errors.py`
maps each failure to its HTTP status and JSON body.
"""
