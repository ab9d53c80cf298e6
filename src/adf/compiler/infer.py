"""Expressions -> types: the type of every value a node computes.

Takes the `Scope` and what the declarations pass found (the types of
inputs, targets and states, and the `Signature` of every llm and fn);
`Inference.infer` gives an expression's type and records E02xx for what is
wrong in it: mismatched call arguments (E0201), `+` on values that cannot
be added (E0203), wrong argument counts and names (E0204, E0205), computed
records and non-text computed lists (E0215), fields of non-records (E0230).
`if` and `match` are typed by `adf.compiler.routing`, `map` by
`adf.compiler.mapping`, comparisons and `and`/`or`/`not` by
`adf.compiler.conditions`. A name an earlier
pass rejected has the unknown type `None`, and every check passes silently
on `None`: one mistake, one error.
"""

from __future__ import annotations

from adf.compiler import types as T
from adf.compiler.conditions import infer_bool_op, infer_compare
from adf.compiler.mapping import infer_map
from adf.compiler.records import Signature as Signature
from adf.compiler.report import diag, suggest
from adf.compiler.resolve import Scope
from adf.compiler.routing import infer_if, infer_match
from adf.diagnostics import Diagnostic, Label, Span
from adf.plan.schema import Type
from adf.syntax import ast


def bind_args(
    args: tuple[ast.Arg, ...], names: tuple[str, ...]
) -> tuple[list[tuple[str, ast.Arg]], list[tuple[str, ast.Arg | None]]]:
    """Match call arguments to parameter names.

    Gives the bound (name, arg) pairs in parameter order and the problems:
    ("extra", arg), ("unknown", arg), ("twice", arg), ("positional", arg) for a
    positional argument after a named one, and ("missing:NAME", None) (left
    out when an argument was positional after a named one: that is the mistake).
    """
    bound: dict[str, ast.Arg] = {}
    problems: list[tuple[str, ast.Arg | None]] = []
    position = 0
    named = False
    for arg in args:
        if arg.name is None:
            if named:
                problems.append(("positional", arg))
                continue
            if position >= len(names):
                problems.append(("extra", arg))
                continue
            bound[names[position]] = arg
            position += 1
        elif arg.name.name not in names:
            named = True
            problems.append(("unknown", arg))
        elif arg.name.name in bound:
            named = True
            problems.append(("twice", arg))
        else:
            named = True
            bound[arg.name.name] = arg
    misplaced = any(problem == "positional" for problem, _ in problems)
    for name in names:
        if name not in bound and not misplaced:
            problems.append((f"missing:{name}", None))
    return [(n, bound[n]) for n in names if n in bound], problems


def report_arg_problems(
    problems: list[tuple[str, ast.Arg | None]], func: str, names: tuple[str, ...], span: Span,
    declared_at: list[Label], diags: list[Diagnostic],
) -> None:
    """E0204 and E0205 for the problems `bind_args` found in a call of `func`, whose
    parameters are `names` (`span`: the whole call, where a missing argument is shown)."""
    for problem, arg in problems:
        if problem == "extra" and arg is not None:
            diags.append(
                diag(
                    "E0204",
                    f"`{func}` takes {len(names)} argument{'s' if len(names) != 1 else ''}, but more were given",
                    arg.span,
                    "extra argument",
                    secondary=declared_at,
                    help="remove the extra argument",
                )
            )
        elif problem == "unknown" and arg is not None and arg.name is not None:
            diags.append(
                diag(
                    "E0205",
                    f"`{func}` has no argument named `{arg.name.name}`",
                    arg.name.span,
                    "unknown argument name",
                    secondary=declared_at,
                    help=suggest(arg.name.name, names)
                    or f"its arguments are: {', '.join(names) or 'none'}",
                )
            )
        elif problem == "positional" and arg is not None:
            diags.append(
                diag(
                    "E0204",
                    f"a positional argument follows a named one in the call of `{func}`",
                    arg.span,
                    "positional argument after a named one",
                    secondary=declared_at,
                    help="put positional arguments first, or name this one too: `NAME: value`",
                )
            )
        elif problem == "twice" and arg is not None and arg.name is not None:
            diags.append(
                diag(
                    "E0205",
                    f"the argument `{arg.name.name}` is given twice",
                    arg.span,
                    "given again",
                    help="pass each argument once",
                )
            )
        elif problem.startswith("missing:") and not any(p == "unknown" for p, _ in problems):
            missing = problem.split(":", 1)[1]
            diags.append(
                diag(
                    "E0204",
                    f"`{func}` is missing the argument `{missing}`",
                    span,
                    f"no value for `{missing}`",
                    secondary=declared_at,
                    help=f"pass it: `{func}({', '.join(names)})`",
                )
            )


class Inference:
    """Expression typing over one program; `values` and `functions` grow as the checker goes."""

    def __init__(self, scope: Scope):
        self.scope = scope
        self.diags: list[Diagnostic] = []
        self.values: dict[str, Type | None] = {}
        self.functions: dict[str, Signature] = {}
        self.loop: str | None = None  # the loop whose body is being checked

    def mismatch(
        self,
        expected: Type | None,
        found: Type | None,
        span: Span,
        message: str,
        declared_at: ast.TypeExpr | None = None,
        help_: str = "",
    ) -> None:
        secondary = (
            [Label(declared_at.span, f"`{expected}` declared here")]
            if declared_at is not None
            else []
        )
        if not help_ and expected is not None and found is not None:
            if expected.kind in ("int", "float") and found.kind == "str":
                help_ = "parse the text first, e.g. with `fn to_int(text: str) -> int = std.parse.last_int`"
            elif expected.kind == "str" and found.kind == "list":
                help_ = "join the list first, e.g. with `fn join(items: list[str]) -> str = std.text.join`"
        self.diags.append(
            diag(
                "E0201",
                f"mismatched types: {message}",
                span,
                f"expected `{expected}`, found `{found}`",
                secondary=secondary,
                help=help_,
            )
        )


    def infer(self, expr: ast.Expr, expected: Type | None) -> Type | None:
        match expr:
            case ast.Ref(name=name):
                symbol = self.scope.symbols.get(name)
                if symbol is None or symbol.kind not in (
                    "input",
                    "target",
                    "node",
                    "state",
                    "loopvar",
                    "item",
                ):
                    return None
                if symbol.kind == "loopvar" and not self.scope.inside(self.loop, symbol.loop):
                    return None  # used outside its loop: resolve reported it (E0102)
                return self.values.get(name)
            case ast.Call():
                return self._call(expr)
            case ast.FieldAccess():
                return self._field(expr)
            case ast.IfExpr():
                return infer_if(expr, self.infer, self.diags)
            case ast.MatchExpr():
                return infer_match(expr, self.infer, self.diags)
            case ast.MapExpr():
                return infer_map(expr, self.scope, self.infer, self.values, self.diags)
            case ast.Compare():
                return infer_compare(expr, self.infer, self.diags)
            case ast.BoolOp() | ast.Not():
                return infer_bool_op(expr, self.infer, self.diags)
            case ast.Add(terms=terms):
                result: Type | None = self.infer(terms[0], expected)
                previous = terms[0]
                for term in terms[1:]:
                    right = self.infer(term, result)
                    combined = T.add_result(result, right)
                    if combined is False:
                        self.diags.append(
                            diag(
                                "E0203",
                                f"cannot add `{result}` and `{right}`",
                                _span(term),
                                f"this is `{right}`",
                                secondary=[
                                    Label(
                                        Span(
                                            expr.span.line,
                                            expr.span.col,
                                            previous.span.end_line,
                                            previous.span.end_col,
                                        ),
                                        f"this is `{result}`",
                                    )
                                ],
                                help="`+` joins two strings, adds two numbers or concatenates two lists of the same type; "
                                "wrap a single item in brackets to append it: `items + [item]`",
                            )
                        )
                        return None
                    assert combined is not True
                    result = combined
                    previous = term
                return result
            case ast.ListLit() | ast.RecordLit() if T.literal_type(expr) is None:
                return self._built(expr)
            case ast.StrLit(value=value) if (
                expected is not None and expected.kind == "enum" and value in expected.values
            ):
                return Type("enum", values=(value,))
            case _:
                literal = T.literal_type(expr)
                if (
                    literal is not None
                    and expected is not None
                    and literal.kind == "list"
                    and literal.of is not None
                    and literal.of.kind == "any"
                ):
                    return expected if expected.kind == "list" else literal
                return literal

    def _built(self, expr: ast.ListLit | ast.RecordLit) -> Type | None:
        """A list literal with computed items: built with `std.op.append`, so items are text."""
        if isinstance(expr, ast.RecordLit):
            self.diags.append(
                diag(
                    "E0215",
                    "a record literal can only hold constants",
                    expr.span,
                    "computed field here",
                    help="return the record from an llm or fn instead",
                )
            )
            return None
        for item in expr.items:
            got = self.infer(item, T.STR)
            if got is not None and not T.assignable(got, T.STR):
                self.diags.append(
                    diag(
                        "E0215",
                        f"a list built from computed values must hold text, found `{got}`",
                        item.span,
                        f"`{got}`",
                        help="lists with computed items are built with `std.op.append`, which takes `str` items; "
                        "convert the value to text first or build the list in an fn",
                    )
                )
                return None
        return T.list_of(T.STR)

    def _call(self, call: ast.Call) -> Type | None:
        symbol = self.scope.symbols.get(call.func.name)
        sig = self.functions.get(call.func.name)
        if symbol is None or symbol.kind not in ("llm", "fn") or sig is None:
            for each in call.args:
                self.infer(each.value, None)
            return None
        names = tuple(name for name, _ in sig.params)
        bound, problems = bind_args(call.args, names)
        declared_at = [Label(symbol.span, f"`{call.func.name}({', '.join(names)})` declared here")]
        report_arg_problems(problems, call.func.name, names, call.span, declared_at, self.diags)
        params = dict(sig.params)
        for name, given in bound:
            want = params[name]
            got = self.infer(given.value, want)
            if not T.assignable(got, want):
                decl = symbol.decl
                declared = next((p.type for p in decl.params if p.name.name == name), None)
                self.mismatch(
                    want, got, given.span, f"argument `{name}` of `{call.func.name}`", declared
                )
        for problem, arg in problems:
            if arg is not None and problem != "twice":
                self.infer(arg.value, None)
        return sig.returns

    def _field(self, expr: ast.FieldAccess) -> Type | None:
        record = self.infer(expr.value, None)
        found = T.field_type(record, expr.field.name)
        if found is not False:
            return found
        name = expr.field.name
        fields = [n for n, _ in record.fields] if record is not None else []
        if record is not None and record.kind == "record":
            message, label = f"`{record}` has no field `{name}`", "no such field"
            help_ = suggest(name, fields) or f"its fields: {', '.join(fields)}"
        else:
            message, label = f"`{name}` is read from a value of type `{record}`, which has no fields", "not a record"
            help_ = "only records have fields: declare the llm's output as a record, e.g. `-> {label: str, reason: str}`"
        self.diags.append(diag("E0230", message, expr.field.span, label,
                               secondary=[Label(expr.value.span, f"this is `{record}`")], help=help_))
        return None



def _span(expr: ast.Expr) -> Span:
    return expr.span
