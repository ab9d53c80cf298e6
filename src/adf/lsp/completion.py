"""Completion: what may be typed at a position, by the context around it.

Takes the source text, a 1-based position and the program's `Semantics`
(possibly of an earlier text that parsed); gives `Candidate`s:
- inside a template string of an llm after `{`: that llm's arguments;
- after `std.`: the standard functions and metrics with their signatures;
- inside a `model` option block: the model options; inside `train { }`: the roles;
- after a call's `(` or `,`: the callee's arguments as `name: `;
- elsewhere: the names in scope (with their kinds), keywords and type names.
Contexts are found lexically, so completion works while the text does not parse.
"""

from __future__ import annotations

import re
from typing import Literal

import attrs

from adf.compiler.resolve import ROLES
from adf.lsp.analysis import Semantics
from adf.lsp.lexemes import blank, in_comment, open_string
from adf.plan.model_options import OPTIONS
from adf.stdlib.signatures import FUNCTIONS, METRICS
from adf.syntax import _tables, ast

CandidateKind = Literal["keyword", "type", "function", "variable", "field", "module", "argument"]

# Every keyword of the grammar (the parser's own table), and the section names an llm
# body takes, which are plain names to the grammar.
KEYWORDS = (*sorted(_tables.KEYWORDS), "system", "user", "finish")
TYPES = ("str", "int", "float", "bool", "list", "enum")
_ROLE_DOC = {
    "backward": "the model that writes textual feedback",
    "optimizer": "the model that proposes new prompts",
    "teacher": "the model that bootstraps demos",
}

_STD = re.compile(r"std(?:\.[A-Za-z_]*)*$")
_TEMPLATE_HOLE = re.compile(r"(?<!\{)\{[A-Za-z_0-9]*$")


@attrs.frozen
class Candidate:
    label: str
    kind: CandidateKind
    detail: str = ""
    documentation: str = ""
    insert: str | None = None  # text to insert instead of the label
    replace: int = 0  # characters before the cursor the insertion replaces (`std.pa`)


def complete(text: str, line: int, col: int, semantics: Semantics | None) -> list[Candidate]:
    offset = _offset(text, line, col)
    before = text[:offset]
    string_start = open_string(before)
    if string_start is not None:
        inside = before[string_start:]
        if _TEMPLATE_HOLE.search(inside) is None or semantics is None:
            return []
        llm = _enclosing_llm(semantics.program, line)
        if llm is None:
            return []
        return [
            Candidate(p.name.name, "argument", f"argument of `{llm.name.name}`")
            for p in llm.params
        ]
    if in_comment(before):
        return []
    code = blank(before)
    word = re.search(r"[A-Za-z_][A-Za-z0-9_.]*$", before)
    if word is not None and _STD.match(word.group()):
        return _std(len(word.group()))
    block = _open_block(code)
    if block == "model":
        return [Candidate(n, "field", "model option", doc, f"{n}: ") for n, doc in _model_options()]
    if block == "train":
        return [Candidate(r, "field", "training role", _ROLE_DOC[r], f"{r}: ") for r in ROLES]
    found: list[Candidate] = []
    callee = _open_call(code)
    if callee is not None and semantics is not None:
        found += _call_arguments(semantics, callee)
    found += _names(semantics)
    found += [Candidate(k, "keyword") for k in KEYWORDS]
    found += [Candidate(t, "type", "type") for t in TYPES]
    return found


def _offset(text: str, line: int, col: int) -> int:
    offset = 0
    for _ in range(line - 1):
        found = text.find("\n", offset)
        if found < 0:
            return len(text)
        offset = found + 1
    end = text.find("\n", offset)
    end = len(text) if end < 0 else end
    return min(offset + col - 1, end)


def _enclosing_llm(program: ast.Program, line: int) -> ast.LlmDecl | None:
    for decl in program.decls:
        if isinstance(decl, ast.LlmDecl) and decl.span.line <= line <= decl.span.end_line:
            return decl
    return None


def _open_block(code: str) -> str | None:
    """`model` or `train` when the innermost unclosed `{` opens such an option block."""
    index = _unclosed(code, "{", "}")
    if index is None:
        return None
    head = code[:index].rstrip()
    line = head[head.rfind("\n") + 1 :].lstrip()
    if line.startswith("model ") and head.endswith('"'):
        return "model"
    return "train" if line == "train" else None


def _open_call(code: str) -> str | None:
    """The callee when the cursor is inside `name(...` on the same line."""
    line = code[code.rfind("\n") + 1 :]
    index = _unclosed(line, "(", ")")
    if index is None:
        return None
    name = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\s*$", line[:index])
    return name.group(1) if name else None


def _unclosed(code: str, opening: str, closing: str) -> int | None:
    """The index of the innermost `opening` bracket not closed before the end of `code`."""
    depth = 0
    for index in range(len(code) - 1, -1, -1):
        char = code[index]
        if char == closing:
            depth += 1
        elif char == opening:
            if depth == 0:
                return index
            depth -= 1
    return None


def _call_arguments(semantics: Semantics, callee: str) -> list[Candidate]:
    return [
        Candidate(f"{o.name}:", "argument", f"argument of `{callee}`", insert=f"{o.name}: ")
        for o in semantics.index.arguments(callee)
    ]


def _names(semantics: Semantics | None) -> list[Candidate]:
    if semantics is None:
        return []
    found = []
    for occurrence in semantics.index.top_level():
        kind: CandidateKind = "function" if occurrence.kind in ("llm", "fn") else "variable"
        found.append(Candidate(occurrence.name, kind, occurrence.kind))
    return found


def _std(replace: int) -> list[Candidate]:
    found = []
    for name, (params, result) in FUNCTIONS.items():
        signature = ", ".join(f"{p}: {t}" for p, t in params)
        found.append(
            Candidate(name, "function", f"({signature}) -> {result}", insert=name, replace=replace)
        )
    for name, options in METRICS.items():
        extra = "".join(f", {o}: {t}" for o, t in options.items())
        found.append(
            Candidate(name, "function", f"metric (pred, target{extra}) -> score", insert=name, replace=replace)
        )
    return found


def _model_options() -> list[tuple[str, str]]:
    """The model options the checker knows (one table, `adf.plan.model_options`), with their
    summaries; provider extras are written `x_NAME`."""
    return [(spec.name, spec.summary) for spec in OPTIONS.values()]
