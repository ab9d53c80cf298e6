"""Type checking: every edge, every literal, every template.

Takes the `Program`, its `Scope` and `Graph`; gives `Typing` (the type of
every value name and the signature of every function) and diagnostics
E02xx: mismatched types on call arguments, state updates and loss options,
unknown type names, `+` on values that cannot be added, wrong argument
counts, param values of the wrong shape, unparseable LLM output types,
bad enums, bad options, and template placeholders that name no argument
(W0201 for an argument no placeholder uses).

Nodes are typed in graph order, so a node's inputs are typed before it. A
name an earlier pass rejected has the unknown type `None`, and every check
passes silently on `None`: one mistake, one error.

Templates: `{name}` in an llm's text parts is replaced by the argument
`name`; `{{` and `}}` stand for literal braces. The grammar is the one in
`adf.plan.placeholders`, which the runtime's renderer also uses.
"""

from __future__ import annotations

import attrs

from adf.compiler import types as T
from adf.compiler.graph import Graph, OrderedLoop
from adf.compiler.options import (
    check_model_options,
    quoted_number,
    unknown_train_option,
)
from adf.compiler.report import diag, suggest
from adf.compiler.resolve import ROLES, Scope
from adf.compiler.routing import infer_if, infer_match
from adf.diagnostics import Diagnostic, Label, Span
from adf.plan import placeholders
from adf.plan.schema import Type
from adf.stdlib.signatures import METRICS
from adf.syntax import ast


@attrs.frozen
class Signature:
    params: tuple[tuple[str, Type | None], ...]
    returns: Type | None


@attrs.frozen
class Typing:
    values: dict[str, Type | None]
    functions: dict[str, Signature]


def typecheck(
    program: ast.Program, scope: Scope, graph: Graph
) -> tuple[Typing, tuple[Diagnostic, ...]]:
    checker = _Checker(scope)
    checker.run(program, graph)
    return Typing(checker.values, checker.functions), tuple(checker.diags)


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


class _Checker:
    def __init__(self, scope: Scope):
        self.scope = scope
        self.diags: list[Diagnostic] = []
        self.values: dict[str, Type | None] = {}
        self.functions: dict[str, Signature] = {}
        self.loop: str | None = None  # the loop whose body is being checked

    # --- types -------------------------------------------------------------
    def type_of(self, expr: ast.TypeExpr) -> Type | None:
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
                self.diags.append(
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
                inner = self.type_of(arg)
                if name.name != "list":
                    self.diags.append(
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
                        self.diags.append(
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
                        self.diags.append(
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
                    t = self.type_of(field_type)
                    if name_ident.name in names:
                        self.diags.append(
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

    # --- the program ---------------------------------------------------------
    def run(self, program: ast.Program, graph: Graph) -> None:
        for decl in program.decls:
            match decl:
                case ast.DataDecl():
                    if decl.field is not None and not decl.field.value:
                        self.diags.append(
                            diag(
                                "E0213",
                                f"`{decl.name.name}` reads a field with an empty name",
                                decl.field.span,
                                "empty field name",
                                help=f'write the data field\'s name, e.g. `from "{decl.name.name}"`, or drop `from` to read `{decl.name.name}`',
                            )
                        )
                    if (
                        self.scope.symbols.get(decl.name.name) is not None
                        and self.scope.symbols[decl.name.name].decl is decl
                    ):
                        self.values[decl.name.name] = self.type_of(decl.type)
                case ast.StateDecl():
                    if self.scope.symbols[decl.name.name].decl is decl:
                        self.values[decl.name.name] = self._state(decl)
                case ast.LoopDecl():
                    self.values.setdefault(decl.name.name, T.INT)
                case ast.LlmDecl() | ast.FnDecl():
                    params = tuple((p.name.name, self.type_of(p.type)) for p in decl.params)
                    returns = self.type_of(decl.returns)
                    if self.scope.symbols[decl.name.name].decl is decl:
                        self.functions[decl.name.name] = Signature(params, returns)
                    if isinstance(decl, ast.LlmDecl):
                        self._llm(decl, returns)
                case ast.ModelDecl():
                    if not decl.model.value.strip():
                        self.diags.append(
                            diag(
                                "E0213",
                                f"model `{decl.name.name}` names no model",
                                decl.model.span,
                                "empty model string",
                                help='write "local" for the built-in local model, or a litellm model such as "openai/gpt-4o-mini"',
                            )
                        )
                    self._model_options(decl.options)
                case ast.TrainDecl():
                    self._train(decl)
                case ast.ParamDecl():
                    self._param(decl)
                case _:
                    pass
        for item in graph.order:
            if isinstance(item, OrderedLoop):
                self.loop = item.decl.name.name
                for stmt in item.body:
                    if isinstance(stmt, ast.NodeDecl):
                        self.values[stmt.name.name] = self.infer(stmt.value, None)
                    else:
                        self._assign(stmt)
                self.loop = None
            else:
                self.values[item.name.name] = self.infer(item.value, None)
        for decl in program.decls:
            if isinstance(decl, ast.LossDecl):
                self._loss(decl)

    def _state(self, decl: ast.StateDecl) -> Type | None:
        declared = self.type_of(decl.type)
        literal = T.literal_type(decl.init)
        if literal is None:
            self.diags.append(
                diag(
                    "E0206",
                    f"the initial value of state `{decl.name.name}` must be a literal",
                    _span(decl.init),
                    "not a literal",
                    help='write a constant such as `""`, `0` or `[]`; compute values inside the loop',
                )
            )
        elif not T.literal_fits(decl.init, declared):
            self._mismatch(
                declared,
                literal,
                _span(decl.init),
                f"state `{decl.name.name}` starts with a value of the wrong type",
                decl.type,
            )
        return declared

    def _assign(self, stmt: ast.Assign) -> None:
        if self.scope.get(stmt.name.name, "state") is None:
            self.infer(stmt.value, None)
            return
        declared = self.values.get(stmt.name.name)
        got = self.infer(stmt.value, declared)
        if not T.assignable(got, declared):
            decl = self.scope.symbols[stmt.name.name].decl
            self._mismatch(
                declared,
                got,
                _span(stmt.value),
                f"state `{stmt.name.name}` is updated with a value of the wrong type",
                decl.type,
            )

    def _mismatch(
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

    # --- expressions -----------------------------------------------------------
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
                ):
                    return None
                if symbol.kind == "loopvar" and symbol.loop != self.loop:
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
        for problem, arg in problems:
            if problem == "extra" and arg is not None:
                self.diags.append(
                    diag(
                        "E0204",
                        f"`{call.func.name}` takes {len(names)} argument{'s' if len(names) != 1 else ''}, but more were given",
                        arg.span,
                        "extra argument",
                        secondary=[
                            Label(
                                symbol.span, f"`{call.func.name}({', '.join(names)})` declared here"
                            )
                        ],
                        help="remove the extra argument",
                    )
                )
            elif problem == "unknown" and arg is not None and arg.name is not None:
                self.diags.append(
                    diag(
                        "E0205",
                        f"`{call.func.name}` has no argument named `{arg.name.name}`",
                        arg.name.span,
                        "unknown argument name",
                        secondary=[
                            Label(
                                symbol.span, f"`{call.func.name}({', '.join(names)})` declared here"
                            )
                        ],
                        help=suggest(arg.name.name, names)
                        or f"its arguments are: {', '.join(names) or 'none'}",
                    )
                )
            elif problem == "positional" and arg is not None:
                self.diags.append(
                    diag(
                        "E0204",
                        f"a positional argument follows a named one in the call of `{call.func.name}`",
                        arg.span,
                        "positional argument after a named one",
                        secondary=[
                            Label(
                                symbol.span, f"`{call.func.name}({', '.join(names)})` declared here"
                            )
                        ],
                        help="put positional arguments first, or name this one too: `NAME: value`",
                    )
                )
            elif problem == "twice" and arg is not None and arg.name is not None:
                self.diags.append(
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
                self.diags.append(
                    diag(
                        "E0204",
                        f"`{call.func.name}` is missing the argument `{missing}`",
                        call.span,
                        f"no value for `{missing}`",
                        secondary=[
                            Label(
                                symbol.span, f"`{call.func.name}({', '.join(names)})` declared here"
                            )
                        ],
                        help=f"pass it: `{call.func.name}({', '.join(names)})`",
                    )
                )
        params = dict(sig.params)
        for name, given in bound:
            want = params[name]
            got = self.infer(given.value, want)
            if not T.assignable(got, want):
                decl = symbol.decl
                declared = next((p.type for p in decl.params if p.name.name == name), None)
                self._mismatch(
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

    # --- declarations --------------------------------------------------------------
    def _llm(self, decl: ast.LlmDecl, returns: Type | None) -> None:
        self._model_options(decl.model_options)
        if returns is not None and not T.parseable(returns):
            self.diags.append(
                diag(
                    "E0209",
                    f"the output type `{returns}` of llm `{decl.name.name}` cannot be parsed from text",
                    _type_span(decl.returns),
                    "not parseable",
                    notes=(
                        "an llm replies with text; adf parses it into str, int, float, bool, an enum, a list of those, or a record of those",
                    ),
                    help="return `str` and convert it with an `fn`, or flatten the type",
                )
            )
        args = {p.name.name for p in decl.params}
        used: set[str] = set()
        before = len(self.diags)
        for section in decl.sections:
            for part in section.parts:
                if isinstance(part, ast.StrLit):
                    used |= self._template(part, args, decl)
        if any(d.code in ("E0207", "E0208") for d in self.diags[before:]):
            return  # a misspelled placeholder explains the unused argument
        for param in decl.params:
            if param.name.name not in used:
                self.diags.append(
                    diag(
                        "W0201",
                        f"the argument `{param.name.name}` of llm `{decl.name.name}` is never used in its prompt",
                        param.name.span,
                        "unused argument",
                        help=f'mention it in a template, e.g. `user: "... {{{param.name.name}}}"`, or remove it',
                    )
                )

    def _template(self, part: ast.StrLit, args: set[str], decl: ast.LlmDecl) -> set[str]:
        """Check one literal part against the placeholder grammar of `adf.plan.placeholders`."""
        used: set[str] = set()
        raw = part.raw
        if not raw:
            return used
        quote = 3 if raw.startswith('"""') else 1
        for piece in placeholders.scan(raw[quote:-quote]):
            if piece.kind in ("text", "brace"):
                continue
            span = _inner_span(part, quote + piece.start, quote + piece.end)
            if piece.kind == "malformed":
                self.diags.append(_malformed_placeholder(piece.value, span))
                continue
            name = piece.value
            if name in args:
                used.add(name)
                continue
            self.diags.append(self._unknown_placeholder(name, span, args, decl))
        return used

    def _unknown_placeholder(
        self, name: str, span: Span, args: set[str], decl: ast.LlmDecl
    ) -> Diagnostic:
        known = ", ".join(f"`{a}`" for a in sorted(args)) or "none"
        if self.scope.get(name, "param") is not None:
            help = (
                f"`{name}` is a param: list it as a part of the section instead of a placeholder, "
                f'e.g. `user: [{name}, "..."]`'
            )
        else:
            help = suggest(name, args) or (
                f"add `{name}: TYPE` to the llm's arguments, or write `{{{{{name}}}}}` for literal braces"
            )
        return diag(
            "E0207",
            f"the placeholder `{{{name}}}` names no argument of llm `{decl.name.name}`",
            span,
            "unknown placeholder",
            secondary=[Label(decl.name.span, f"arguments: {known}")],
            help=help,
        )

    def _param(self, decl: ast.ParamDecl) -> None:
        name = decl.name.name
        if decl.kind == "prompt":
            if not isinstance(decl.value, ast.StrLit):
                self.diags.append(
                    diag(
                        "E0206",
                        f"the prompt `{name}` must be a string",
                        _span(decl.value),
                        "not a string literal",
                        help='write the text in quotes: `= "..."`, or `"""..."""` for several lines',
                    )
                )
            return
        max_demos: int | None = None
        self._repeated([o.name for o in decl.kind_options], "demos option")
        for option in decl.kind_options:
            if option.name.name != "max":
                self.diags.append(
                    diag(
                        "E0212",
                        f"unknown option `{option.name.name}` for demos",
                        option.name.span,
                        "unknown option",
                        help="demos take one option: `demos(max: N)`",
                    )
                )
            elif not isinstance(option.value, ast.IntLit) or option.value.value < 0:
                self.diags.append(
                    diag(
                        "E0213",
                        "`max` must be a non-negative integer",
                        _span_opt(option.value),
                        "not a count",
                        help="write e.g. `demos(max: 3)`",
                    )
                )
            else:
                max_demos = option.value.value
        value = decl.value
        good = isinstance(value, ast.ListLit) and all(
            isinstance(item, ast.RecordLit)
            and all(
                isinstance(v, ast.StrLit | ast.IntLit | ast.FloatLit | ast.BoolLit)
                for _, v in item.fields
            )
            for item in value.items
        )
        if not good:
            self.diags.append(
                diag(
                    "E0206",
                    f"the demos `{name}` must be a list of records",
                    _span(value),
                    "not a list of examples",
                    help='write `= []` or `= [{question: "...", answer: "..."}]`',
                )
            )
        elif (
            max_demos is not None
            and isinstance(value, ast.ListLit)
            and len(value.items) > max_demos
        ):
            self.diags.append(
                diag(
                    "E0213",
                    f"`{name}` starts with {len(value.items)} demos, more than its `max: {max_demos}`",
                    value.span,
                    "too many examples",
                    help="raise `max` or remove examples",
                )
            )

    def _model_options(self, options: tuple[ast.Option, ...]) -> None:
        self._repeated([o.name for o in options], "model option")
        self.diags.extend(check_model_options(options))

    def _repeated(self, names: list[ast.Ident], what: str) -> None:
        """E0212 for every option name given a second time."""
        first: dict[str, ast.Ident] = {}
        for name in names:
            if name.name in first:
                self.diags.append(
                    diag(
                        "E0212",
                        f"the {what} `{name.name}` is given twice",
                        name.span,
                        "repeated option",
                        secondary=[Label(first[name.name].span, "first given here")],
                        help="keep one of them",
                    )
                )
            else:
                first[name.name] = name

    def _train(self, decl: ast.TrainDecl) -> None:
        self._repeated([o.name for o in decl.options], "training option")
        for option in decl.options:
            name = option.name.name
            close = (
                suggest(name, ROLES)
                if name not in ROLES and isinstance(option.value, ast.Ref)
                else ""
            )
            if name not in ROLES and close and isinstance(option.value, ast.Ref):
                self.diags.append(
                    diag(
                        "E0212",
                        f"unknown training role `{name}`",
                        option.name.span,
                        "not a role",
                        help=close + " (roles: backward, optimizer, teacher)",
                    )
                )
            elif name in ROLES:
                if not isinstance(option.value, ast.Ref):
                    self.diags.append(
                        diag(
                            "E0213",
                            f"the `{name}` role needs a model name",
                            _span_opt(option.value),
                            "not a model name",
                            help=f"write `{name}: MODEL` with a declared model",
                        )
                    )
            else:
                self.diags.append(unknown_train_option(option))

    def _loss(self, decl: ast.LossDecl) -> None:
        positional = [a for a in decl.args if a.name is None]
        keywords = [a for a in decl.args if a.name is not None]
        late = [a for a in positional if keywords and a.span > keywords[0].span]
        if late:
            self.diags.append(
                diag(
                    "E0204",
                    f"a positional argument follows a named option in the loss `{decl.name.name}`",
                    late[0].span,
                    "positional argument after a named one",
                    help=f"write the prediction and the target first: `loss {decl.name.name} = METRIC(pred, target, option: value)`",
                )
            )
            return
        types = [self.infer(a.value, None) for a in positional]
        for arg in positional:
            if isinstance(arg.value, ast.Call | ast.Add | ast.FieldAccess | ast.IfExpr | ast.MatchExpr):
                self.diags.append(
                    diag(
                        "E0214",
                        "a loss argument must be a name or a constant",
                        arg.span,
                        "computed here",
                        help="declare the computation as a node first: `node pred = ...`, then `loss NAME = METRIC(pred, target)`",
                    )
                )
                return
        if len(positional) != 2:
            self.diags.append(
                diag(
                    "E0204",
                    f"a loss takes two values, the prediction and the target; `{decl.name.name}` gives {len(positional)}",
                    decl.span,
                    "expected `(prediction, target)`",
                    help=f"write `loss {decl.name.name} = METRIC(pred, target)`",
                )
            )
        elif not T.comparable(types[0], types[1]):
            self.diags.append(
                diag(
                    "E0211",
                    f"the loss `{decl.name.name}` compares `{types[0]}` with `{types[1]}`",
                    positional[0].span,
                    f"`{types[0]}`",
                    secondary=[Label(positional[1].span, f"`{types[1]}`")],
                    help=_compare_help(types[0], types[1]),
                )
            )
        allowed = METRICS.get(decl.metric.name, {}) if isinstance(decl.metric, ast.StdRef) else None
        self._repeated([a.name for a in keywords if a.name is not None], "loss option")
        for arg in keywords:
            assert arg.name is not None
            literal = T.literal_type(arg.value)
            if allowed is not None and arg.name.name not in allowed:
                if isinstance(decl.metric, ast.StdRef) and decl.metric.name not in METRICS:
                    continue  # unknown metric, reported by resolve
                names = ", ".join(f"`{n}`" for n in allowed) or "none"
                self.diags.append(
                    diag(
                        "E0212",
                        f"unknown option `{arg.name.name}` for `{decl.metric.name if isinstance(decl.metric, ast.StdRef) else ''}`",
                        arg.name.span,
                        "unknown option",
                        help=suggest(arg.name.name, allowed) or f"its options: {names}",
                    )
                )
                continue
            if literal is None or literal.kind in ("list", "record"):
                self.diags.append(
                    diag(
                        "E0213",
                        f"the option `{arg.name.name}` needs a constant value",
                        _span(arg.value),
                        "not a constant",
                        help="write a number, string or boolean",
                    )
                )
                continue
            if allowed is not None:
                want = T.parse_type_text(allowed[arg.name.name])
                quoted = quoted_number(arg.value, arg.name.name, f"a `{want}`")
                if quoted is not None and want.kind in ("int", "float"):
                    self.diags.append(quoted)
                elif not T.assignable(literal, want):
                    self._mismatch(want, literal, _span(arg.value), f"option `{arg.name.name}`")
                elif arg.name.name == "tolerance" and _negative(arg.value):
                    self.diags.append(
                        diag(
                            "E0213",
                            "`tolerance` must not be negative",
                            _span(arg.value),
                            "a negative tolerance",
                            help="the tolerance is the largest accepted difference, e.g. `tolerance: 0.01`",
                        )
                    )


def _negative(value: ast.Expr) -> bool:
    return isinstance(value, ast.IntLit | ast.FloatLit) and value.value < 0


def _span(expr: ast.Expr) -> Span:
    return expr.span


def _span_opt(value: ast.OptionValueExpr) -> Span:
    return value.span


def _type_span(expr: ast.TypeExpr) -> Span:
    return expr.span


def _inner_span(lit: ast.StrLit, start: int, end: int) -> Span:
    """The span of characters `start:end` of a literal's raw source text."""
    raw = lit.raw

    def at(index: int) -> tuple[int, int]:
        before = raw[:index]
        newlines = before.count("\n")
        if newlines == 0:
            return lit.span.line, lit.span.col + index
        return lit.span.line + newlines, index - before.rfind("\n")

    line, col = at(start)
    end_line, end_col = at(end)
    return Span(line, col, end_line, end_col)


def _malformed_placeholder(text: str, span: Span) -> Diagnostic:
    shown = text if len(text) < 30 else text[:27] + "..."
    name = placeholders.unspaced(text)
    if name is not None:
        return diag(
            "E0208",
            f"malformed placeholder `{shown}`: spaces inside the braces",
            span,
            "not a placeholder",
            notes=("the text would be sent as written, without the argument's value",),
            help=f"write `{{{name}}}` (no spaces), or `{{{{ {name} }}}}` for literal braces",
        )
    return diag(
        "E0208",
        f"malformed placeholder `{shown}`",
        span,
        "not a placeholder",
        help="placeholders look like `{argument}`; write `{{` and `}}` for literal braces",
    )


def _compare_help(pred: Type | None, target: Type | None) -> str:
    """How to make a loss's two sides comparable, for the pair of kinds at hand."""
    kinds = {pred.kind if pred else "", target.kind if target else ""}
    if "record" in kinds:
        return "a metric compares two scalar values: declare the llm's result as the target's type, or take one field out with an `fn` bound to Python"
    if pred is not None and pred.kind == "str" and target is not None and target.kind in ("int", "float"):
        entry = "last_int" if target.kind == "int" else "last_number"
        return f"parse the prediction first: `fn parse(text: str) -> {target.kind} = std.parse.{entry}`"
    if "list" in kinds:
        return "a metric compares two single values: join the list with `std.text.join`, or compare one item"
    return f"make both sides the same type (the target is `{target}`)"
