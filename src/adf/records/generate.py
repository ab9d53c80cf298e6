"""Generate the record modules from their attrs declarations (`*_spec.py`).

Takes every `src/adf/**/NAME_spec.py`; writes `NAME.py` beside it: the same
module text (docstring, imports, aliases, constants, comments, methods)
with each `@attrs.frozen` class rewritten as a plain `__slots__` class on
`adf.records.Record`: the same name, fields (as annotations), constructor
(positional or by keyword, the same defaults; a factory is called per
instance), `__eq__`/`__hash__` (exact class, field by field), order when
declared (`order=True`), `__match_args__`, repr, frozen, picklable. The
generated module imports no attrs, so `adfc check` never does (see
`adf.records` and docs/architecture.md, "Records").

**After editing a declaration in any `*_spec.py`, run `python -m adf.records`**
(it rewrites every generated module; `tests/records/test_records.py` fails
while one is stale, and checks that each generated class behaves like its
declaration).

Supported in a declaration: `@attrs.frozen` with `order`, `eq`, `repr`,
`weakref_slot`; fields with a plain default or `attrs.field(default=...,
factory=..., metadata=..., eq=..., repr=...)`; `ClassVar` annotations and
methods (copied as written). Anything else (validators, converters,
`kw_only`, base classes) is refused with a message, so a declaration never
silently means something the generated class does not do. A new
declaration module is any file named `NAME_spec.py` under src/adf: the
command finds it and writes `NAME.py`.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from attrs import frozen

PACKAGE = Path(__file__).resolve().parents[1]  # src/adf
COMMAND = "python -m adf.records"
_FROZEN_OPTIONS = {"order", "eq", "repr", "weakref_slot", "slots"}
_FIELD_OPTIONS = {"default", "factory", "metadata", "eq", "repr"}


class SpecError(Exception):
    """A declaration the generator cannot turn into an equivalent record class."""


@frozen
class _Field:
    name: str
    annotation: str
    default: str | None  # source text of the default, or None
    factory: str | None  # source text of the factory, or None
    metadata: str | None
    comment: str
    eq: bool = True
    repr: bool = True


def spec_paths() -> list[Path]:
    """Every declaration module under src/adf, in a stable order."""
    return sorted(PACKAGE.rglob("*_spec.py"))


def target_of(spec: Path) -> Path:
    return spec.with_name(spec.name.removesuffix("_spec.py") + ".py")


def _segment(lines: list[str], start: int, end: int) -> str:
    """Lines `start`..`end` (1-based, inclusive) of the source."""
    return "".join(lines[start - 1:end])


def _start(node: ast.stmt) -> int:
    decorators: list[ast.expr] = getattr(node, "decorator_list", [])
    return min([node.lineno, *(d.lineno for d in decorators)])


def _is_attrs(node: ast.expr) -> bool:
    """`attrs.frozen`, `attrs.frozen(...)`, `attrs.define`, ...: any use of attrs."""
    target = node.func if isinstance(node, ast.Call) else node
    return isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) \
        and target.value.id in ("attrs", "attr")


def _frozen_options(cls: ast.ClassDef, source: str) -> dict[str, bool] | None:
    """The options of the class's `@attrs.frozen`, or None when it is no record."""
    found = [d for d in cls.decorator_list if _is_attrs(d)]
    if not found:
        return None
    where = f"class {cls.name} (line {cls.lineno})"
    if len(cls.decorator_list) != 1:
        raise SpecError(f"{where}: a record takes exactly one decorator, @attrs.frozen")
    decorator = found[0]
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    assert isinstance(target, ast.Attribute)
    if target.attr != "frozen":
        raise SpecError(f"{where}: records are declared with @attrs.frozen, not @attrs.{target.attr}")
    options = {"order": False, "eq": True, "repr": True, "weakref_slot": True, "slots": True}
    if isinstance(decorator, ast.Call):
        if decorator.args:
            raise SpecError(f"{where}: @attrs.frozen takes keyword options only")
        for keyword in decorator.keywords:
            if keyword.arg not in _FROZEN_OPTIONS or not isinstance(keyword.value, ast.Constant) \
                    or not isinstance(keyword.value.value, bool):
                text = ast.get_source_segment(source, keyword)
                raise SpecError(f"{where}: option `{text}` is not supported by {COMMAND}")
            options[keyword.arg] = keyword.value.value
    if not options["slots"]:
        raise SpecError(f"{where}: records have slots")
    if cls.bases or cls.keywords:
        raise SpecError(f"{where}: records have no base classes")
    return options


def _field(stmt: ast.AnnAssign, source: str, lines: list[str]) -> _Field:
    assert isinstance(stmt.target, ast.Name)
    name = stmt.target.id
    annotation = ast.get_source_segment(source, stmt.annotation) or ""
    default = factory = metadata = None
    flags = {"eq": True, "repr": True}
    value = stmt.value
    if isinstance(value, ast.Call) and _is_attrs(value):
        assert isinstance(value.func, ast.Attribute)
        if value.func.attr != "field" or value.args:
            raise SpecError(f"field {name} (line {stmt.lineno}): only attrs.field(...) is supported")
        for keyword in value.keywords:
            if keyword.arg not in _FIELD_OPTIONS:
                raise SpecError(f"field {name} (line {stmt.lineno}): `{keyword.arg}=` is not "
                                f"supported by {COMMAND} (supported: {', '.join(sorted(_FIELD_OPTIONS))})")
            text = ast.get_source_segment(source, keyword.value)
            if keyword.arg in flags:
                if not isinstance(keyword.value, ast.Constant) or not isinstance(keyword.value.value, bool):
                    raise SpecError(f"field {name} (line {stmt.lineno}): `{keyword.arg}=` takes True or False")
                flags[keyword.arg] = keyword.value.value
            elif keyword.arg == "default":
                default = text
            elif keyword.arg == "factory":
                factory = text
            else:
                metadata = text
    elif value is not None:
        default = ast.get_source_segment(source, value)
    rest = lines[stmt.end_lineno - 1][stmt.end_col_offset:].strip() if stmt.end_lineno else ""
    return _Field(name, annotation, default, factory, metadata, rest if rest.startswith("#") else "",
                  flags["eq"], flags["repr"])


def _is_class_var(stmt: ast.AnnAssign, source: str) -> bool:
    return "ClassVar" in (ast.get_source_segment(source, stmt.annotation) or "")


def _methods(name: str, fields: list[_Field], options: dict[str, bool]) -> list[str]:
    out: list[str] = []
    params = []
    body = []
    for f in fields:
        if f.factory is not None:
            params.append(f"{f.name}: {f.annotation} = NOTHING")
            body.append(f"        if {f.name} is NOTHING:\n            {f.name} = {f.factory}()\n")
        elif f.default is not None:
            params.append(f"{f.name}: {f.annotation} = {f.default}")
        else:
            params.append(f"{f.name}: {f.annotation}")
        body.append(f'        _set(self, "{f.name}", {f.name})\n')
    out.append(f"    def __init__(self, {', '.join(params)}) -> None:\n" if params
               else "    def __init__(self) -> None:\n")
    out.extend(body or ["        pass\n"])
    compared = [f for f in fields if f.eq]
    mine = _tuple([f"self.{f.name}" for f in compared])
    theirs = _tuple([f"other.{f.name}" for f in compared])
    ignore = ""
    if options["eq"]:
        out.append("\n    def __eq__(self, other: object) -> bool:\n"
                   "        if other.__class__ is not self.__class__:\n"
                   "            return NotImplemented\n"
                   f"        return {mine} == {theirs}{ignore}\n")
        out.append("\n    def __hash__(self) -> int:\n"
                   f'        return hash({_tuple([repr(name), *(f"self.{f.name}" for f in compared)])})\n')
    if options["order"]:
        for method, op in (("__lt__", "<"), ("__le__", "<="), ("__gt__", ">"), ("__ge__", ">=")):
            out.append(f"\n    def {method}(self, other: object) -> bool:\n"
                       "        if other.__class__ is not self.__class__:\n"
                       "            return NotImplemented\n"
                       f"        return {mine} {op} {theirs}{ignore}\n")
    return out


def _tuple(items: list[str]) -> str:
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def _record(cls: ast.ClassDef, options: dict[str, bool], source: str, lines: list[str]) -> str:
    """The generated text of one record class."""
    body = list(cls.body)
    out = [f"class {cls.name}(Record):\n"]
    index = 0
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        out.append(_segment(lines, body[0].lineno, body[0].end_lineno or body[0].lineno) + "\n")
        index = 1
    fields: list[_Field] = []
    field_text: list[str] = []
    rest: list[str] = []
    previous_end = body[index - 1].end_lineno if index else cls.lineno
    for stmt in body[index:]:
        gap = _segment(lines, (previous_end or 0) + 1, _start(stmt) - 1)
        previous_end = stmt.end_lineno
        if isinstance(stmt, ast.AnnAssign) and not _is_class_var(stmt, source):
            if rest:
                raise SpecError(f"class {cls.name}: declare field {ast.unparse(stmt.target)} "
                                "before the methods")
            if not isinstance(stmt.target, ast.Name):
                raise SpecError(f"class {cls.name} (line {stmt.lineno}): a field is a plain name")
            found = _field(stmt, source, lines)
            fields.append(found)
            comment = f"  {found.comment}" if found.comment else ""
            field_text.append(gap + f"    {found.name}: {found.annotation}{comment}\n")
        elif isinstance(stmt, ast.FunctionDef) and stmt.name in ("__attrs_post_init__",
                                                                 "__attrs_pre_init__"):
            raise SpecError(f"class {cls.name}: {stmt.name} is not supported by {COMMAND}")
        else:
            rest.append(gap + _segment(lines, _start(stmt), stmt.end_lineno or stmt.lineno))
    names = tuple(f.name for f in fields)
    slots = names + (("__weakref__",) if options["weakref_slot"] else ())
    out.append(f"    __slots__ = {slots!r}\n")
    out.append(f"    __match_args__ = {names!r}\n")
    described = []
    for f in fields:
        parts = [repr(f.name)]
        if f.default is not None:
            parts.append(f.default)
        if f.factory is not None:
            parts.append(f"factory={f.factory}")
        if f.metadata is not None:
            parts.append(f"metadata={f.metadata}")
        parts += [f"{flag}=False" for flag in ("eq", "repr") if not getattr(f, flag)]
        described.append(f"Field({', '.join(parts)})")
    tail = "," if len(described) == 1 else ""
    out.append(f"    __record_fields__ = ({', '.join(described)}{tail})\n")
    if not options["repr"] and not any(isinstance(s, ast.FunctionDef) and s.name == "__repr__"
                                       for s in body):
        out.append("    __repr__ = object.__repr__\n")
    if field_text:
        out.append("\n" if not field_text[0].startswith("\n") else "")
        out.extend(field_text)
    out.append("\n")
    out.extend(_methods(cls.name, fields, options))
    out.extend(rest)
    return "".join(out)


def render(spec: Path) -> str:
    """The source of the generated module for the declaration module `spec` (deterministic)."""
    source = spec.read_text(encoding="utf-8")
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    relative = spec.relative_to(PACKAGE.parent).as_posix()
    note = (f"Generated from `{relative}` by `{COMMAND}`: edit the declarations\n"
            "there and run that command; do not edit this file.\n")
    out: list[str] = []
    previous_end = 0
    inserted = False
    imports_end = max((i for i, s in enumerate(tree.body) if isinstance(s, ast.Import | ast.ImportFrom)
                       and all(isinstance(t, ast.Import | ast.ImportFrom) or t is tree.body[0]
                               for t in tree.body[:i])), default=-1)
    for index, stmt in enumerate(tree.body):
        gap = _segment(lines, previous_end + 1, _start(stmt) - 1)
        previous_end = stmt.end_lineno or stmt.lineno
        text = _segment(lines, _start(stmt), previous_end)
        if index == 0 and isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) \
                and isinstance(stmt.value.value, str):
            closing = text.rstrip().rfind('"""')
            text = text[:closing].rstrip("\n") + "\n\n" + note + text[closing:]
            out.append(gap + text)
            continue
        skip = isinstance(stmt, ast.ImportFrom) and stmt.module in ("attrs", "attr")
        if isinstance(stmt, ast.Import) and any(a.name in ("attrs", "attr") for a in stmt.names):
            if len(stmt.names) != 1:
                raise SpecError(f"line {stmt.lineno}: import attrs on a line of its own")
            skip = True
        if index == imports_end:
            out.append("" if skip else gap + text)
            out.append("\nfrom adf.records import NOTHING, Field, Record\n\n"
                       "_set = object.__setattr__  # records refuse their own __setattr__\n")
            inserted = True
            continue
        if skip:
            continue
        if isinstance(stmt, ast.ClassDef):
            options = _frozen_options(stmt, source)
            if options is not None:
                text = _record(stmt, options, source, lines)
        out.append(gap + text)
    if not inserted:
        raise SpecError(f"{relative}: a declaration module imports attrs")
    out.append(_segment(lines, previous_end + 1, len(lines)))
    text = "# ruff: noqa\n" + "".join(out)
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Name) and node.id in ("attrs", "attr"):
            raise SpecError(f"{relative}, line {node.lineno - 1}: attrs is used outside a record "
                            "declaration (use adf.records.replace and adf.records.fields)")
    return text


def main() -> int:
    failed = False
    for spec in spec_paths():
        try:
            text = render(spec)
        except SpecError as exc:
            print(f"{spec.relative_to(PACKAGE.parent)}: {exc}", file=sys.stderr)
            failed = True
            continue
        target = target_of(spec)
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
            print(f"wrote {target.relative_to(PACKAGE.parent)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
