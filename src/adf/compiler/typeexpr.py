"""Type annotations -> types.

Takes a type expression of the AST (`str`, `list[T]`, `enum{A, B}`,
`{field: T}`); gives the `Type` it names, or None with a diagnostic: E0202
for an unknown type name (with "did you mean" for `string`, `integer`...),
E0210 for an empty or repeated enum value or a repeated record field.
"""

from __future__ import annotations

from adf.compiler import types as T
from adf.compiler.report import diag, suggest
from adf.diagnostics import Diagnostic, Label
from adf.plan.schema import Type
from adf.syntax import ast


def type_of(expr: ast.TypeExpr, diags: list[Diagnostic]) -> Type | None:
    """The type an annotation names; None (with an E0202/E0210 in `diags`) when it names none."""
    match expr:
        case ast.NamedType(name=name):
            if name in T.NAMED:
                return T.NAMED[name]
            aliases = {
                "string": "str",
                "integer": "int",
                "number": "float",
                "boolean": "bool",
                "text": "str",
            }
            help_ = (
                f"did you mean `{aliases[name]}`?"
                if name in aliases
                else suggest(name, [*T.SCALARS, "list"])
            )
            if name == "list":
                help_ = "say what the list holds: `list[str]`"
            diags.append(
                diag(
                    "E0202",
                    f"unknown type `{name}`",
                    expr.span,
                    "not a type",
                    help=help_
                    or "types are str, int, float, bool, list[T], enum{A, B} and {field: T}",
                )
            )
            return None
        case ast.GenericType(name=name, arg=arg):
            inner = type_of(arg, diags)
            if name.name != "list":
                diags.append(
                    diag(
                        "E0202",
                        f"unknown type `{name.name}[...]`",
                        name.span,
                        "only `list` takes a type argument",
                        help=suggest(name.name, ["list"]) or "write `list[T]`",
                    )
                )
                return None
            return None if inner is None else T.list_of(inner)
        case ast.EnumType(values=values):
            seen: dict[str, ast.Ident] = {}
            for value in values:
                if not value.name.strip():
                    diags.append(
                        diag(
                            "E0210",
                            "an enum value is empty",
                            value.span,
                            "empty value",
                            help="give every enum value some text",
                        )
                    )
                    return None
                if value.name in seen:
                    diags.append(
                        diag(
                            "E0210",
                            f"the enum value `{value.name}` is listed twice",
                            value.span,
                            "repeated value",
                            secondary=[Label(seen[value.name].span, "first listed here")],
                            help="remove the repeated value",
                        )
                    )
                    return None
                seen[value.name] = value
            return Type("enum", values=tuple(v.name for v in values))
        case ast.RecordType(fields=fields):
            out: list[tuple[str, Type]] = []
            names: dict[str, ast.Ident] = {}
            ok = True
            for name_ident, field_type in fields:
                t = type_of(field_type, diags)
                if name_ident.name in names:
                    diags.append(
                        diag(
                            "E0210",
                            f"the record field `{name_ident.name}` is declared twice",
                            name_ident.span,
                            "repeated field",
                            secondary=[
                                Label(names[name_ident.name].span, "first declared here")
                            ],
                            help="give every field its own name",
                        )
                    )
                    ok = False
                names[name_ident.name] = name_ident
                if t is None:
                    ok = False
                else:
                    out.append((name_ident.name, t))
            return Type("record", fields=tuple(out)) if ok else None
    return None
