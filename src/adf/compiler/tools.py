"""Tool-calling llms: check `tools:` and `finish:` sections, and build their plan specs.

Takes the `Program`, its `Scope` and `Typing`; `check_tools` gives the
diagnostics of every llm that lists tools, `tool_specs` the plan's
`ToolSpec`s of one such llm (called by unroll, once the program is clean).

An llm with `tools: [calculator: calc_doc, final_answer: "..."]` lets the
model choose which of these declared `fn`s to call and with what arguments;
the node's value is a `tool_call` record (`adf.plan.schema.TOOL_CALL`).
The rules:

- each entry names a declared `fn` (E0102 when nothing has that name, E0250
  for anything else), at most once, in one `tools:` section (E0108);
- a tool returns `str`: its result is the observation the next step reads
  (E0251), and an llm with tools returns `tool_call` while one without
  tools does not (E0251);
- a description is a `prompt` param (trainable like any prompt) or text
  (E0106 otherwise);
- `finish: [...]` names listed tools whose call ends the agent's work (the
  record's `done` is then true) (E0252 for anything else, or `finish`
  without tools).
"""

from __future__ import annotations

from adf.compiler import types as T
from adf.compiler.report import diag, suggest
from adf.compiler.resolve import Scope
from adf.compiler.typecheck import Typing
from adf.diagnostics import Diagnostic, Label
from adf.plan.schema import TOOL_CALL, FnSpec, TemplatePart, ToolSpec
from adf.syntax import ast

FINISH = "finish"


def check_tools(program: ast.Program, scope: Scope, typing: Typing) -> tuple[Diagnostic, ...]:
    diags: list[Diagnostic] = []
    for decl in program.decls:
        if isinstance(decl, ast.LlmDecl):
            diags += _llm(decl, scope, typing)
    return tuple(diags)


def tool_specs(decl: ast.LlmDecl, scope: Scope, typing: Typing) -> tuple[ToolSpec, ...]:
    """The plan's tools of a checked llm, in the order they are listed."""
    from adf.compiler.unroll import fn_ref  # unroll calls this function: import at call time

    finish = {p.name for s in decl.sections if s.name.name == FINISH
              for p in s.parts if isinstance(p, ast.Ref)}
    specs: list[ToolSpec] = []
    for entry in _entries(decl):
        fn = scope.symbols[entry.name.name].decl
        assert isinstance(fn, ast.FnDecl)
        params = tuple((n, t or T.ANY) for n, t in typing.functions[entry.name.name].params)
        description: tuple[TemplatePart, ...] = ()
        if isinstance(entry.description, ast.Ref):
            description = (TemplatePart("param", param=entry.description.name),)
        elif isinstance(entry.description, ast.StrLit):
            description = (TemplatePart("text", text=entry.description.value),)
        specs.append(ToolSpec(entry.name.name, FnSpec(entry.name.name, fn_ref(fn.target)),
                              params, description, entry.name.name in finish))
    return tuple(specs)


def _entries(decl: ast.LlmDecl) -> tuple[ast.ToolEntry, ...]:
    return tuple(e for section in decl.tools for e in section.entries)


def _llm(decl: ast.LlmDecl, scope: Scope, typing: Typing) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    name = decl.name.name
    for extra in decl.tools[1:]:
        diags.append(diag(
            "E0108", "the `tools` section is given twice", extra.span, "repeated section",
            secondary=[Label(decl.tools[0].span, "first given here")],
            help="list every tool in one `tools: [...]` section",
        ))
    entries = _entries(decl)
    listed: dict[str, ast.ToolEntry] = {}
    for entry in entries:
        tool = entry.name.name
        if tool in listed:
            diags.append(diag(
                "E0252", f"the tool `{tool}` is listed twice", entry.name.span, "listed again",
                secondary=[Label(listed[tool].name.span, "first listed here")],
                help="list each tool once",
            ))
            continue
        listed[tool] = entry
        diags += _entry(entry, scope, typing)
        diags += _description(entry, scope)
    diags += _returns(decl, typing, bool(entries))
    for section in decl.sections:
        if section.name.name != FINISH:
            continue
        for part in section.parts:
            if isinstance(part, ast.Ref) and part.name in listed:
                continue
            what = f"`{part.name}`" if isinstance(part, ast.Ref) else "a text"
            diags.append(diag(
                "E0252", f"`finish` of llm `{name}` names {what}, which is not one of its tools",
                part.span, "not a listed tool",
                help=(suggest(part.name, list(listed)) if isinstance(part, ast.Ref) else "")
                or ("list the tools whose call ends the work, e.g. `finish: [final_answer]`"
                    if listed else "add a `tools: [...]` section, or remove `finish`"),
            ))
    return diags


def _entry(entry: ast.ToolEntry, scope: Scope, typing: Typing) -> list[Diagnostic]:
    tool = entry.name.name
    symbol = scope.symbols.get(tool)
    if symbol is None:
        fns = [s.name for s in scope.symbols.values() if s.kind == "fn"]
        return [diag(
            "E0102", f"undefined name `{tool}`", entry.name.span, "no fn with this name",
            help=suggest(tool, fns) or f"declare it, e.g. `fn {tool}(text: str) -> str = py \"tools:{tool}\"`",
        )]
    if symbol.kind != "fn":
        return [diag(
            "E0250", f"the tool `{tool}` is not a declared `fn`", entry.name.span, "not an fn",
            secondary=[Label(symbol.span, "declared here")],
            help="a tool is a typed Python function the runtime calls: declare it with "
                 f"`fn {tool}(...) -> str = py \"module:function\"` or `= std...`",
        )]
    sig = typing.functions.get(tool)
    if sig is None or sig.returns is None or sig.returns == T.STR:
        return []
    return [diag(
        "E0251", f"the tool `{tool}` returns `{sig.returns}`, not `str`", entry.name.span,
        "not a text result", secondary=[Label(symbol.span, "declared here")],
        notes=("a tool's result is the observation the model reads next, so it is text",),
        help=f"declare `-> str` and return text, e.g. `fn {tool}(...) -> str`",
    )]


def _description(entry: ast.ToolEntry, scope: Scope) -> list[Diagnostic]:
    part = entry.description
    if not isinstance(part, ast.Ref):
        return []
    symbol = scope.symbols.get(part.name)
    if symbol is None:
        params = [s.name for s in scope.symbols.values() if s.kind == "param"]
        return [diag("E0102", f"undefined name `{part.name}`", part.span, "no param with this name",
                     help=suggest(part.name, params) or "describe the tool with a prompt param or a text")]
    if symbol.kind == "param" and isinstance(symbol.decl, ast.ParamDecl) and symbol.decl.kind == "prompt":
        return []
    what = "a demos param" if symbol.kind == "param" else f"`{part.name}`, which is not a param"
    return [diag(
        "E0106", f"expected a prompt param or a text as the description of `{entry.name.name}`, found {what}",
        part.span, "not a prompt param", secondary=[Label(symbol.span, "declared here")],
        help=f'write `{entry.name.name}: "what the tool does"` or name a `param ...: prompt`',
    )]


def _returns(decl: ast.LlmDecl, typing: Typing, has_tools: bool) -> list[Diagnostic]:
    sig = typing.functions.get(decl.name.name)
    returns = None if sig is None else sig.returns
    if returns is None or (returns == TOOL_CALL) == has_tools:
        return []
    if has_tools:
        return [diag(
            "E0251", f"llm `{decl.name.name}` lists tools but returns `{returns}`",
            decl.returns.span, "expected `tool_call`",
            notes=("the value of an llm with tools is the call it made: a `tool_call` record "
                   "{tool, arguments, result, done}",),
            help="declare `-> tool_call`, then read `.result` or `.done` of its value",
        )]
    return [diag(
        "E0251", f"llm `{decl.name.name}` returns `tool_call` but lists no tools",
        decl.returns.span, "no tools to call",
        help="add `tools: [NAME, ...]` naming declared fns, or return another type",
    )]
