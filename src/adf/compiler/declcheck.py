"""Declarations: the checks that need no expression typing, and the losses.

Takes one declaration at a time, the `Scope` where a check needs it, and
the list the diagnostics go to. An llm's output type must be parseable
from text (E0209) and its template placeholders must name arguments
(E0207, E0208; W0201 for an argument no placeholder uses); a param's value
must have its kind's shape (E0206, E0213); model, demos, training and loss
options are known, given once and well typed (E0212, E0213); a loss
compares two values of comparable types (E0204, E0211, E0214).

Templates: `{name}` in an llm's text parts is replaced by the argument
`name`; `{{` and `}}` stand for literal braces. The grammar is the one in
`adf.plan.placeholders`, which the runtime's renderer also uses.
"""

from __future__ import annotations

from adf.compiler import types as T
from adf.compiler.infer import Inference
from adf.compiler.options import (
    check_model_options,
    quoted_number,
    unknown_train_option,
)
from adf.compiler.report import diag, suggest, summarise
from adf.compiler.resolve import ROLES, Scope
from adf.diagnostics import Diagnostic, Label, Span
from adf.plan import placeholders
from adf.plan.schema import Type
from adf.stdlib.signatures import METRICS
from adf.syntax import ast


def check_llm(decl: ast.LlmDecl, returns: Type | None, scope: Scope, diags: list[Diagnostic]) -> None:
    """Its model options, a parseable output type (E0209), placeholders (E0207, E0208), unused arguments (W0201)."""
    check_model_block(decl.model_options, diags)
    if returns is not None and not T.parseable(returns):
        diags.append(
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
    before = len(diags)
    for section in decl.sections:
        for part in section.parts:
            if isinstance(part, ast.StrLit):
                used |= _template(part, args, decl, scope, diags)
    if any(d.code in ("E0207", "E0208") for d in diags[before:]):
        return  # a misspelled placeholder explains the unused argument
    for param in decl.params:
        if param.name.name not in used:
            diags.append(
                diag(
                    "W0201",
                    f"the argument `{param.name.name}` of llm `{decl.name.name}` is never used in its prompt",
                    param.name.span,
                    "unused argument",
                    help=f'mention it in a template, e.g. `user: "... {{{param.name.name}}}"`, or remove it',
                )
            )


def _template(
    part: ast.StrLit, args: set[str], decl: ast.LlmDecl, scope: Scope, diags: list[Diagnostic]
) -> set[str]:
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
            diags.append(_malformed_placeholder(piece.value, span))
            continue
        name = piece.value
        if name in args:
            used.add(name)
            continue
        diags.append(_unknown_placeholder(name, span, args, decl, scope))
    return used


def _unknown_placeholder(
    name: str, span: Span, args: set[str], decl: ast.LlmDecl, scope: Scope
) -> Diagnostic:
    known = ", ".join(f"`{a}`" for a in sorted(args)) or "none"
    if scope.get(name, "param") is not None:
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


def check_param(decl: ast.ParamDecl, diags: list[Diagnostic]) -> None:
    """A prompt's text (E0206); a demos list of constant records within its `max` (E0206, E0212, E0213)."""
    name = decl.name.name
    if decl.kind == "prompt":
        if not isinstance(decl.value, ast.StrLit):
            diags.append(
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
    repeated_options([o.name for o in decl.kind_options], "demos option", diags)
    for option in decl.kind_options:
        if option.name.name == "turns":
            if not isinstance(option.value, ast.BoolLit):
                diags.append(diag(
                    "E0213", "`turns` must be `true` or `false`", _span_opt(option.value),
                    "not a boolean", help="write `demos(turns: true)` to send the demos as "
                    "user/assistant turns",
                ))
            continue
        if option.name.name != "max":
            diags.append(
                diag(
                    "E0212",
                    f"unknown option `{option.name.name}` for demos",
                    option.name.span,
                    "unknown option",
                    help="demos take two options: `demos(max: N, turns: true)`",
                )
            )
        elif not isinstance(option.value, ast.IntLit) or option.value.value < 0:
            diags.append(
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
        diags.append(
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
        diags.append(
            diag(
                "E0213",
                f"`{name}` starts with {len(value.items)} demos, more than its `max: {max_demos}`",
                value.span,
                "too many examples",
                help="raise `max` or remove examples",
            )
        )


def check_model_block(options: tuple[ast.Option, ...], diags: list[Diagnostic]) -> None:
    """A model's (or an llm's) options: none repeated, each known and well typed."""
    repeated_options([o.name for o in options], "model option", diags)
    diags.extend(check_model_options(options))


def repeated_options(names: list[ast.Ident], what: str, diags: list[Diagnostic]) -> None:
    """E0212 for every option name given a second time."""
    first: dict[str, ast.Ident] = {}
    for name in names:
        if name.name in first:
            diags.append(
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


def check_train(decl: ast.TrainDecl, diags: list[Diagnostic]) -> None:
    """Training roles name models (E0212, E0213); other options are known ones."""
    repeated_options([o.name for o in decl.options], "training option", diags)
    for option in decl.options:
        name = option.name.name
        close = (
            suggest(name, ROLES)
            if name not in ROLES and isinstance(option.value, ast.Ref)
            else ""
        )
        if name not in ROLES and close and isinstance(option.value, ast.Ref):
            diags.append(
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
                diags.append(
                    diag(
                        "E0213",
                        f"the `{name}` role needs a model name",
                        _span_opt(option.value),
                        "not a model name",
                        help=f"write `{name}: MODEL` with a declared model",
                    )
                )
        else:
            diags.append(unknown_train_option(option))


def check_loss(decl: ast.LossDecl, inference: Inference) -> None:
    """Two comparable values (E0204, E0211, E0214), then the metric's options (E0212, E0213, E0201)."""
    diags = inference.diags
    positional = [a for a in decl.args if a.name is None]
    keywords = [a for a in decl.args if a.name is not None]
    late = [a for a in positional if keywords and a.span > keywords[0].span]
    if late:
        diags.append(
            diag(
                "E0204",
                f"a positional argument follows a named option in the loss `{decl.name.name}`",
                late[0].span,
                "positional argument after a named one",
                help=f"write the prediction and the target first: `loss {decl.name.name} = METRIC(pred, target, option: value)`",
            )
        )
        return
    types = [inference.infer(a.value, None) for a in positional]
    for arg in positional:
        if isinstance(arg.value, ast.Call | ast.Add | ast.FieldAccess | ast.IfExpr | ast.MatchExpr
                      | ast.MapExpr | ast.Compare | ast.BoolOp | ast.Not):
            diags.append(
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
        diags.append(
            diag(
                "E0204",
                f"a loss takes two values, the prediction and the target; `{decl.name.name}` gives {len(positional)}",
                decl.span,
                "expected `(prediction, target)`",
                help=f"write `loss {decl.name.name} = METRIC(pred, target)`",
            )
        )
    elif not T.comparable(types[0], types[1]):
        diags.append(
            diag(
                "E0211",
                f"the loss `{decl.name.name}` compares `{types[0]}` with `{types[1]}`",
                positional[0].span,
                f"`{types[0]}`",
                secondary=[Label(positional[1].span, f"`{types[1]}`")],
                help=_compare_help(types[0], types[1]),
            )
        )
    elif isinstance(decl.metric, ast.StdRef):
        _never_scores(decl, decl.metric.name, positional, types, diags)
    allowed = METRICS.get(decl.metric.name, {}) if isinstance(decl.metric, ast.StdRef) else None
    repeated_options([a.name for a in keywords if a.name is not None], "loss option", diags)
    for arg in keywords:
        assert arg.name is not None
        literal = T.literal_type(arg.value)
        if allowed is not None and arg.name.name not in allowed:
            if isinstance(decl.metric, ast.StdRef) and decl.metric.name not in METRICS:
                continue  # unknown metric, reported by resolve
            names = ", ".join(f"`{n}`" for n in allowed) or "none"
            diags.append(
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
            diags.append(
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
                diags.append(quoted)
            elif not T.assignable(literal, want):
                inference.mismatch(want, literal, _span(arg.value), f"option `{arg.name.name}`")
            elif arg.name.name == "tolerance" and _negative(arg.value):
                diags.append(
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


def _labels(expr: ast.Expr, found: Type | None) -> tuple[str, ...] | None:
    """The values a loss side can take when they are few and known: an enum's labels or a text constant."""
    if isinstance(expr, ast.StrLit):
        return (expr.value,)
    return found.values if found is not None and found.kind == "enum" else None


# above this many (prediction, target) pairs the check is skipped: it is a hint, not worth seconds
_MAX_PAIRS = 400


def _never_scores(decl: ast.LossDecl, metric: str, args: list[ast.Arg],
                  types: list[Type | None], diags: list[Diagnostic]) -> None:
    """E0211 when every value the prediction can take scores 0 against every value the
    target can take, under the std metric itself (two enums with no label in common).
    Skipped when the loss has options (a tolerance changes what scores) or the pairs are many."""
    from adf.stdlib.losses import METRICS as SCORERS

    scorer = SCORERS.get(metric)
    pred, target = _labels(args[0].value, types[0]), _labels(args[1].value, types[1])
    if (scorer is None or not pred or not target or len(pred) * len(target) > _MAX_PAIRS
            or any(a.name is not None for a in decl.args)):
        return
    if any(_score(scorer(p, t)) > 0 for p in pred for t in target):
        return
    shown = [_brief(types[0]), _brief(types[1])]
    diags.append(
        diag(
            "E0211",
            f"the loss `{decl.name.name}` can never score: `{shown[0]}` shares no value with `{shown[1]}`",
            args[0].span,
            f"`{shown[0]}`",
            secondary=[Label(args[1].span, f"`{shown[1]}`")],
            notes=(f"`{metric}` scores 0 for every pair of their values",),
            help="give the prediction the target's labels (declare the llm's result as the target's type)",
        )
    )


def _brief(found: Type | None) -> str:
    """A type for a message: an enum of many labels cut to its first few."""
    if found is None or found.kind != "enum" or len(found.values) <= 6:
        return str(found)
    return "enum{" + summarise(found.values, limit=4) + "}"


def _score(result: float | tuple[float, str]) -> float:
    return result[0] if isinstance(result, tuple) else result


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
