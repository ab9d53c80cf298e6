"""Write a typed Python client for a workflow (`adfc gen python FILE -o client.py`).

Takes a workflow's `Signature` and where the client will live; gives the
source of a module whose types mirror the declarations, so that
`mypy --strict` checks the calling code: records become `TypedDict`s (named
after where they appear, identical shapes share one class), enums `Literal`s,
lists `list[...]`, `any` `object`; the outputs a frozen dataclass `Outputs`;
and a `Client` whose `__call__`/`acall` take the inputs as typed keyword
arguments and whose `batch` takes a list of the `Inputs` TypedDict. The
module calls the workflow through `adf.load`, so it runs with the lock
file's values and the same model options.
"""

from __future__ import annotations

import keyword
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from adf.plan.schema import Type
    from adf.workflow.signature import Signature

_HEADER = '''"""Typed client for {source} (written by `adfc gen python`; regenerate, do not edit).

    from {module} import Client

    client = Client()
    out = client({example})
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

import adf

WORKFLOW = os.path.join(os.path.dirname(os.path.abspath(__file__)), {path!r})
PLAN_HASH = {plan_hash!r}
'''

_CLIENT = '''

class Client:
    """Calls {source}; options as `adf.load` (models=, api_bases=, cache=, concurrency=...)."""

    def __init__(self, path: str = WORKFLOW, **options: Any) -> None:
        self.workflow = adf.load(path, **options)

    def __call__(self, *, {params}) -> Outputs:
        return _outputs(self.workflow({args}).outputs)

    async def acall(self, *, {params}) -> Outputs:
        return _outputs((await self.workflow.acall({args})).outputs)

    def batch(self, rows: Sequence[Inputs], *, concurrency: int | None = None,
              on_progress: Callable[[int, int], None] | None = None) -> list[Outputs | None]:
        """One `Outputs` per row in order; None where that row's call failed."""
        results = self.workflow.batch([dict(row) for row in rows], concurrency=concurrency,
                                      on_progress=on_progress)
        return [_outputs(r.outputs) if r.ok else None for r in results]


def _outputs(values: Any) -> Outputs:
    return Outputs({outputs})
'''


class _Namer:
    """Class names for record types: by shape, so identical records share one class."""

    def __init__(self) -> None:
        self.by_shape: dict[str, str] = {}
        self.taken: set[str] = {"Inputs", "Outputs", "Client"}
        self.classes: list[str] = []

    def annotation(self, type_: Type, where: str) -> str:
        match type_.kind:
            case "str" | "int" | "float" | "bool":
                return type_.kind
            case "any":
                return "object"
            case "enum":
                return "Literal[" + ", ".join(repr(v) for v in type_.values) + "]"
            case "list":
                assert type_.of is not None
                return f"list[{self.annotation(type_.of, where + '_item')}]"
            case "record":
                return self.record(type_, where)
        raise AssertionError(f"unknown type kind {type_.kind!r}")  # plan bug

    def record(self, type_: Type, where: str) -> str:
        shape = str(type_)
        if shape in self.by_shape:
            return self.by_shape[shape]
        name = base = _class_name(where)
        n = 1
        while name in self.taken:
            n += 1
            name = f"{base}{n}"
        self.taken.add(name)
        self.by_shape[shape] = name
        fields = [f"    {field}: {self.annotation(t, where + '_' + field)}"
                  for field, t in type_.fields]
        body = "\n".join(fields) if fields else "    pass"
        if any(not _identifier(field) for field, _ in type_.fields):
            items = ", ".join(f"{f!r}: {self.annotation(t, where + '_' + f)}"
                              for f, t in type_.fields)
            self.classes.append(f'{name} = TypedDict("{name}", {{{items}}})')
        else:
            self.classes.append(f"class {name}(TypedDict):\n{body}")
        return name


def python_client(sig: Signature, *, source: str, path: str, module: str,
                  plan_hash: str) -> str:
    """The client module's source; `path` is the workflow relative to the module's folder."""
    namer = _Namer()
    inputs = [(name, namer.annotation(t, name)) for name, t in sig.inputs]
    outputs = [(name, namer.annotation(t, name + "_output")) for name, t in sig.outputs]
    bad = [n for n, _ in inputs + outputs if not _identifier(n)]
    if bad:
        raise ValueError(f"cannot name {', '.join(bad)} as a Python keyword argument")
    parts = [_HEADER.format(source=source, module=module, path=path, plan_hash=plan_hash,
                            example=", ".join(f"{n}=..." for n, _ in inputs))]
    parts += [f"\n\n{text}\n" for text in namer.classes]
    fields = "\n".join(f"    {n}: {a}" for n, a in inputs) or "    pass"
    parts.append(f'\n\nclass Inputs(TypedDict):\n    """The workflow\'s inputs."""\n\n{fields}\n')
    fields = "\n".join(f"    {n}: {a}" for n, a in outputs) or "    pass"
    parts.append('\n\n@dataclass(frozen=True)\nclass Outputs:\n    """The workflow\'s outputs, '
                 f'typed as declared."""\n\n{fields}\n')
    params = ", ".join(f"{n}: {a}" for n, a in inputs)
    args = ", ".join(f"{n}={n}" for n, _ in inputs)
    values = ", ".join(f"{n}=values[{n!r}]" for n, _ in outputs)
    parts.append(_CLIENT.format(source=source, params=params or "_: None = None", args=args,
                                outputs=values))
    return "".join(parts)


def _identifier(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name)


def _class_name(where: str) -> str:
    words = [w for w in re.split(r"[^0-9A-Za-z]+", where) if w]
    name = "".join(w[:1].upper() + w[1:] for w in words) or "Record"
    return name if name[0].isalpha() else f"R{name}"
