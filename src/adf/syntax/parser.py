"""Text -> AST: the `.adf` parser.

Takes source text; gives `(Program | None, diagnostics)`. The program is
None exactly when there are syntax errors (codes E00xx), so later passes
never see a half-parsed file and never produce follow-on errors.

The grammar lives in `adf.lark`. The LR driver (`adf.syntax.lr`) walks
Lark's precomputed tables over the lexer's tokens (`adf.syntax.lexer`) and
calls back, once per reduction, into the builders below, which make the
frozen AST of `adf.syntax.ast` directly: one `on_RULE` method per grammar
rule. Literal values are decoded by `adf.syntax.literals`.

Syntax errors say what was found and what was expected; common mistakes
are named instead (`adf.syntax.errors`, `adf.syntax.hints`). After an error
the parser resumes at the next line that starts a declaration in column 1,
so one run reports several errors.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from adf.diagnostics import Diagnostic, Span
from adf.syntax import ast, hints
from adf.syntax.errors import SyntaxFailure, syntax_error
from adf.syntax.lexer import Tok
from adf.syntax.literals import float_value, int_value, loop_bound, unescape
from adf.syntax.lr import MAX_DEPTH, drive

__all__ = ["MAX_DEPTH", "MAX_SYNTAX_ERRORS", "parse"]

MAX_SYNTAX_ERRORS = 20

_RESUME = re.compile(r"^(?:" + "|".join(hints.DECLARATION_KEYWORDS) + r")\b", re.M)


def parse(text: str, file: str = "<input>") -> tuple[ast.Program | None, tuple[Diagnostic, ...]]:
    """Parse `text`; `file` only labels the diagnostics."""
    builder = _Builder(file)
    errors: list[Diagnostic] = []
    offset, line = 0, 1
    program: ast.Program | None = None
    while True:
        try:
            result = drive(text, offset, line, builder.callbacks)
        except SyntaxFailure as exc:
            errors.append(exc.diagnostic)
            if len(errors) >= MAX_SYNTAX_ERRORS:
                break
            resume = _resume_point(text, exc.line)
            if resume is None:
                break
            offset, line = resume
            continue
        if not errors:
            assert isinstance(result, ast.Program)
            program = result
        break
    diagnostics = tuple(errors) + tuple(builder.diagnostics)
    if diagnostics:
        return None, tuple(sorted(diagnostics, key=lambda d: d.primary.span))
    return program, ()


def _resume_point(text: str, error_line: int) -> tuple[int, int] | None:
    """The offset and line number of the first declaration line after `error_line`."""
    pos = 0
    for _ in range(error_line):
        nl = text.find("\n", pos)
        if nl < 0:
            return None
        pos = nl + 1
    match = _RESUME.search(text, pos)
    if match is None:
        return None
    return match.start(), text.count("\n", 0, match.start()) + 1



class _Kind:
    __slots__ = ("kind", "options", "span")

    def __init__(self, kind: ast.ParamKindName, options: tuple[ast.Option, ...], span: Span):
        self.kind = kind
        self.options = options
        self.span = span


class _Mod:
    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name


class _Wrap:
    """A tagged tuple of values (argument lists, option blocks, parts, clauses)."""

    __slots__ = ("items", "tag")

    def __init__(self, tag: str, items: tuple[Any, ...]):
        self.tag = tag
        self.items = items


def _ident(tok: Tok) -> ast.Ident:
    return ast.Ident(tok.value, tok.span)


def _wrapped(kept: list[Any], tag: str) -> tuple[Any, ...]:
    for item in kept:
        if isinstance(item, _Wrap) and item.tag == tag:
            return item.items
    return ()


def _dotted(expr: ast.Expr) -> str:
    """`a.b.c` written as field accesses of a name -> "a.b.c" ("" for anything else)."""
    if isinstance(expr, ast.Ref):
        return expr.name
    if isinstance(expr, ast.FieldAccess):
        inner = _dotted(expr.value)
        return f"{inner}.{expr.field.name}" if inner else ""
    return ""


class _Builder:
    """Reduction callbacks: each takes the kept children and the rule's span."""

    def __init__(self, file: str):
        self.file = file
        self.diagnostics: list[Diagnostic] = []
        self.callbacks: dict[str, Callable[[list[Any], Span], Any]] = {
            name[3:]: getattr(self, name) for name in dir(self) if name.startswith("on_")
        }

    # --- literals ---------------------------------------------------------
    def on_string(self, kept: list[Any], span: Span) -> ast.StrLit:
        tok: Tok = kept[0]
        quote = 3 if tok.type == "LONG_STRING" else 1
        body = tok.value[quote:-quote]
        value = unescape(body, tok, quote, self.diagnostics)
        return ast.StrLit(value, span, quote, None if value == body else body)

    def on_str_lit(self, kept: list[Any], span: Span) -> ast.StrLit:
        lit: ast.StrLit = kept[0]
        return lit

    def on_int_lit(self, kept: list[Any], span: Span) -> ast.IntLit:
        return ast.IntLit(int_value(kept[0], self.diagnostics), span)

    def on_float_lit(self, kept: list[Any], span: Span) -> ast.FloatLit:
        return ast.FloatLit(float_value(kept[0], self.diagnostics), span)

    def on_true_lit(self, kept: list[Any], span: Span) -> ast.BoolLit:
        return ast.BoolLit(True, span)

    def on_false_lit(self, kept: list[Any], span: Span) -> ast.BoolLit:
        return ast.BoolLit(False, span)

    def on_list_lit(self, kept: list[Any], span: Span) -> ast.ListLit:
        return ast.ListLit(tuple(kept), span)

    def on_record_lit(self, kept: list[Any], span: Span) -> ast.RecordLit:
        return ast.RecordLit(tuple(kept), span)

    def on_record_field(self, kept: list[Any], span: Span) -> tuple[ast.Ident, ast.Expr]:
        return (_ident(kept[0]), kept[1])

    # --- options --------------------------------------------------------------
    def on_option_block(self, kept: list[Any], span: Span) -> _Wrap:
        return _Wrap("options", tuple(kept))

    def on_option(self, kept: list[Any], span: Span) -> ast.Option:
        return ast.Option(_ident(kept[0]), kept[1], span)

    def on_env_ref(self, kept: list[Any], span: Span) -> ast.EnvCall:
        return ast.EnvCall(kept[0], span)

    def on_name_value(self, kept: list[Any], span: Span) -> ast.Ref:
        return ast.Ref(kept[0].value, span)

    # --- declarations ------------------------------------------------------------
    def on_start(self, kept: list[Any], span: Span) -> ast.Program:
        return ast.Program(tuple(kept))

    def on_use_decl(self, kept: list[Any], span: Span) -> ast.UseDecl:
        return ast.UseDecl(kept[0], _ident(kept[1]), span)

    def on_model_decl(self, kept: list[Any], span: Span) -> ast.ModelDecl:
        return ast.ModelDecl(_ident(kept[0]), kept[1], _wrapped(kept, "options"), span)

    def on_train_decl(self, kept: list[Any], span: Span) -> ast.TrainDecl:
        return ast.TrainDecl(_wrapped(kept, "options"), span)

    def on_param_decl(self, kept: list[Any], span: Span) -> ast.ParamDecl:
        kind: _Kind = kept[1]
        frozen = False
        description: ast.StrLit | None = None
        for item in kept[2:-1]:
            if isinstance(item, _Mod):
                frozen = item.name == "frozen"
            elif isinstance(item, ast.StrLit):
                description = item
        return ast.ParamDecl(
            _ident(kept[0]), kind.kind, kind.span, kind.options, frozen, description, kept[-1], span
        )

    def on_prompt_kind(self, kept: list[Any], span: Span) -> _Kind:
        return _Kind("prompt", (), span)

    def on_demos_kind(self, kept: list[Any], span: Span) -> _Kind:
        return _Kind("demos", tuple(kept), span)

    def on_frozen(self, kept: list[Any], span: Span) -> _Mod:
        return _Mod("frozen")

    def on_trainable(self, kept: list[Any], span: Span) -> _Mod:
        return _Mod("trainable")

    def _data(self, role: Any, kept: list[Any], span: Span) -> ast.DataDecl:
        field = _wrapped(kept, "from")
        return ast.DataDecl(role, _ident(kept[0]), kept[1], field[0] if field else None, span)

    def on_input_decl(self, kept: list[Any], span: Span) -> ast.DataDecl:
        return self._data("input", kept, span)

    def on_target_decl(self, kept: list[Any], span: Span) -> ast.DataDecl:
        return self._data("target", kept, span)

    def on_from_clause(self, kept: list[Any], span: Span) -> _Wrap:
        return _Wrap("from", (kept[0],))

    # --- types ------------------------------------------------------------------
    def on_named_type(self, kept: list[Any], span: Span) -> ast.NamedType:
        return ast.NamedType(kept[0].value, span)

    def on_generic_type(self, kept: list[Any], span: Span) -> ast.GenericType:
        return ast.GenericType(_ident(kept[0]), kept[1], span)

    def on_enum_type(self, kept: list[Any], span: Span) -> ast.EnumType:
        return ast.EnumType(tuple(kept), span)

    def on_enum_item(self, kept: list[Any], span: Span) -> ast.Ident:
        item = kept[0]
        if isinstance(item, Tok):
            return _ident(item)
        assert isinstance(item, ast.StrLit)
        return ast.Ident(item.value, item.span)

    def on_record_type(self, kept: list[Any], span: Span) -> ast.RecordType:
        return ast.RecordType(tuple(kept), span)

    def on_type_field(self, kept: list[Any], span: Span) -> tuple[ast.Ident, ast.TypeExpr]:
        return (_ident(kept[0]), kept[1])

    # --- functions --------------------------------------------------------------
    def on_llm_decl(self, kept: list[Any], span: Span) -> ast.LlmDecl:
        params = _wrapped(kept, "args")
        rest = [k for k in kept[1:] if not isinstance(k, _Wrap)]
        returns = rest[0]
        using = _wrapped(kept, "using")
        sections = tuple(k for k in rest[1:] if isinstance(k, ast.Section))
        tools = tuple(k for k in rest[1:] if isinstance(k, ast.ToolsSection))
        return ast.LlmDecl(
            _ident(kept[0]), params, returns, using[0] if using else None, sections, span,
            tuple(using[1:]), tools,
        )

    def on_using(self, kept: list[Any], span: Span) -> _Wrap:
        return _Wrap("using", (_ident(kept[0]), *kept[1:]))

    def on_arg_list(self, kept: list[Any], span: Span) -> _Wrap:
        return _Wrap("args", tuple(kept))

    def on_arg_decl(self, kept: list[Any], span: Span) -> ast.ArgDecl:
        return ast.ArgDecl(_ident(kept[0]), kept[1], span)

    def on_section(self, kept: list[Any], span: Span) -> ast.Section:
        return ast.Section(_ident(kept[0]), kept[1].items, span)

    def on_tools_section(self, kept: list[Any], span: Span) -> ast.ToolsSection:
        return ast.ToolsSection(tuple(kept), span)

    def on_tool_entry(self, kept: list[Any], span: Span) -> ast.ToolEntry:
        return ast.ToolEntry(_ident(kept[0]), kept[1] if len(kept) > 1 else None, span)

    def on_part_list(self, kept: list[Any], span: Span) -> _Wrap:
        return _Wrap("parts", tuple(kept))

    def on_part_single(self, kept: list[Any], span: Span) -> _Wrap:
        return _Wrap("parts", (kept[0],))

    def on_part_ref(self, kept: list[Any], span: Span) -> ast.Ref:
        return ast.Ref(kept[0].value, span)

    def on_part_text(self, kept: list[Any], span: Span) -> ast.StrLit:
        lit: ast.StrLit = kept[0]
        return lit

    def on_fn_decl(self, kept: list[Any], span: Span) -> ast.FnDecl:
        params = _wrapped(kept, "args")
        rest = [k for k in kept[1:] if not isinstance(k, _Wrap)]
        return ast.FnDecl(_ident(kept[0]), params, rest[0], rest[1], span)

    def on_std_ref(self, kept: list[Any], span: Span) -> ast.StdRef:
        return ast.StdRef(kept[0], span)

    def on_py_ref(self, kept: list[Any], span: Span) -> ast.PyRef:
        return ast.PyRef(kept[0], span)

    def on_dotted(self, kept: list[Any], span: Span) -> str:
        return ".".join(tok.value for tok in kept)

    # --- graph ------------------------------------------------------------------
    def on_node_decl(self, kept: list[Any], span: Span) -> ast.NodeDecl:
        return ast.NodeDecl(_ident(kept[0]), kept[1], span)

    def on_state_decl(self, kept: list[Any], span: Span) -> ast.StateDecl:
        return ast.StateDecl(_ident(kept[0]), kept[1], kept[2], span)

    def on_assign(self, kept: list[Any], span: Span) -> ast.Assign:
        return ast.Assign(_ident(kept[0]), kept[1], span)

    def on_const_decl(self, kept: list[Any], span: Span) -> ast.ConstDecl:
        return ast.ConstDecl(_ident(kept[0]), int_value(kept[1], self.diagnostics), span)

    def on_until(self, kept: list[Any], span: Span) -> _Wrap:
        return _Wrap("until", (kept[0],))

    def on_loop_decl(self, kept: list[Any], span: Span) -> ast.LoopDecl:
        start, end = kept[1], kept[2]
        range_span = Span(start.line, start.col, end.end_line, end.end_col)
        names = tuple(_ident(tok) if tok.type == "NAME" else None for tok in (start, end))
        until = _wrapped(kept, "until")
        body = tuple(k for k in kept[3:] if not isinstance(k, _Wrap))
        bounds = [loop_bound(tok) if tok.type == "INT" else 0 for tok in (start, end)]
        if None in bounds:
            self.diagnostics.append(
                syntax_error(
                    "E0302",
                    f"loop `{kept[0].value}` has a bound far beyond the unrolling limit",
                    range_span,
                    "too many steps",
                    help_="use a smaller bound; a few steps are usually enough for multi-hop workflows",
                )
            )
        first, last = (b if b is not None else 0 for b in bounds)
        return ast.LoopDecl(_ident(kept[0]), first, last, range_span, body, span,
                            (names[0], names[1]), until[0] if until else None)

    def on_loss_decl(self, kept: list[Any], span: Span) -> ast.LossDecl:
        return ast.LossDecl(_ident(kept[0]), kept[1], _wrapped(kept, "call_args"), span)

    def on_objective_decl(self, kept: list[Any], span: Span) -> ast.ObjectiveDecl:
        return ast.ObjectiveDecl(_ident(kept[0]), tuple(kept[1:]), span)

    def on_weighted(self, kept: list[Any], span: Span) -> ast.WeightedLoss:
        weight: ast.IntLit | ast.FloatLit = kept[0]
        return ast.WeightedLoss(float(weight.value), weight.span, _ident(kept[1]), span)

    def on_unweighted(self, kept: list[Any], span: Span) -> ast.WeightedLoss:
        return ast.WeightedLoss(1.0, None, _ident(kept[0]), span)

    def on_output_decl(self, kept: list[Any], span: Span) -> ast.OutputDecl:
        return ast.OutputDecl(_ident(kept[0]), span)

    # --- expressions --------------------------------------------------------------
    def on_add(self, kept: list[Any], span: Span) -> ast.Add:
        return ast.Add(tuple(kept), span)

    def on_field_access(self, kept: list[Any], span: Span) -> ast.FieldAccess:
        return ast.FieldAccess(kept[0], _ident(kept[1]), span)

    def on_if_expr(self, kept: list[Any], span: Span) -> ast.IfExpr:
        return ast.IfExpr(kept[0], kept[1], kept[2], span)

    def on_match_expr(self, kept: list[Any], span: Span) -> ast.MatchExpr:
        return ast.MatchExpr(kept[0], tuple(kept[1:]), span)

    def on_compare(self, kept: list[Any], span: Span) -> ast.Compare:
        left, op, right = kept
        return ast.Compare(op.value, left, right, span)

    def on_and_expr(self, kept: list[Any], span: Span) -> ast.BoolOp:
        return ast.BoolOp("and", tuple(kept), span)

    def on_or_expr(self, kept: list[Any], span: Span) -> ast.BoolOp:
        return ast.BoolOp("or", tuple(kept), span)

    def on_not_expr(self, kept: list[Any], span: Span) -> ast.Not:
        return ast.Not(kept[0], span)

    def on_map_expr(self, kept: list[Any], span: Span) -> ast.MapExpr:
        item, items, bound, body = kept
        bound_span = bound.span
        if bound.type == "NAME":
            return ast.MapExpr(_ident(item), items, 0, bound_span, body, span, _ident(bound))
        value = loop_bound(bound)
        if value is None:
            self.diagnostics.append(syntax_error(
                "E0241", "the bound of `map` is far beyond the unrolling limit", bound_span,
                "too many items", help_="use a smaller bound; the items are unrolled into the plan",
            ))
        return ast.MapExpr(_ident(item), items, value or 0, bound_span, body, span)

    def on_match_arm(self, kept: list[Any], span: Span) -> ast.MatchArm:
        return ast.MatchArm(kept[0], kept[1], span)

    def on_case_name(self, kept: list[Any], span: Span) -> ast.Ident:
        return _ident(kept[0])

    def on_case_text(self, kept: list[Any], span: Span) -> ast.Ident:
        text: ast.StrLit = kept[0]
        return ast.Ident(text.value, text.span)

    def on_ref(self, kept: list[Any], span: Span) -> ast.Ref:
        return ast.Ref(kept[0].value, span)

    def on_call(self, kept: list[Any], span: Span) -> ast.Call:
        return ast.Call(_ident(kept[0]), _wrapped(kept, "call_args"), span)

    def on_qualified_call(self, kept: list[Any], span: Span) -> ast.Call:
        """`r.name(args)`: a function of the file used as `r` (any other callee is an error)."""
        owner, name = kept[0], kept[1]
        if isinstance(owner, ast.FieldAccess) and _dotted(owner):  # `r.q.name(...)`: nested
            owner = ast.Ref(_dotted(owner), owner.span)
        if not isinstance(owner, ast.Ref):
            self.diagnostics.append(syntax_error(
                "E0001", "only a used file's functions are called with a dot", span,
                "not `alias.name(...)`",
                help_='call a function of a used file as `r.name(...)` after `use "file.adf" as r`',
            ))
            owner = ast.Ref("_", owner.span)
        func = ast.Ident(f"{owner.name}.{name.value}", Span(
            owner.span.line, owner.span.col, name.span.end_line, name.span.end_col))
        return ast.Call(func, _wrapped(kept, "call_args"), span)

    def on_call_args(self, kept: list[Any], span: Span) -> _Wrap:
        return _Wrap("call_args", tuple(kept))

    def on_pos_arg(self, kept: list[Any], span: Span) -> ast.Arg:
        return ast.Arg(None, kept[0], span)

    def on_kw_arg(self, kept: list[Any], span: Span) -> ast.Arg:
        return ast.Arg(_ident(kept[0]), kept[1], span)

