"""One analysed version of a document, and the cache that keeps recent ones.

Takes a path and the text an editor holds for it; gives an `Analysis`: the
diagnostics `adfc check` reports for that text (the compiler's, then the
lints with the `[tool.adf]` configuration of the nearest pyproject.toml and
the file's `# adf: allow` comments), and, computed only when a request
needs them, the program's symbol `Index`, its types and the gradient
reachability of its plan. Nothing here runs user code: the compiler reads
`py "module:function"` sources without importing them.

`Analyses` caches by text (and by the modification time of the
pyproject.toml that configures the file): a request for a version already
analysed (or an undo back to an earlier text) costs a dictionary lookup. A new text is
parsed incrementally (`adf.lsp.incremental`): only the declarations an edit
touched are parsed again.
"""

from __future__ import annotations

import functools
import os
from collections import OrderedDict
from collections.abc import Mapping

import attrs

from adf.analysis.config import LintConfig, find_pyproject, load_lint_config
from adf.analysis.lint import apply_config, lint_plan
from adf.analysis.reachability import Reachability
from adf.compiler.pipeline import CompileResult, compile_source
from adf.compiler.typecheck import Typing
from adf.diagnostics import Diagnostic
from adf.lsp.incremental import Pieces, parse_incrementally
from adf.lsp.index import Index, build_index
from adf.syntax import ast


@attrs.frozen
class Semantics:
    """What the editor features read: the program, its index and its types."""

    program: ast.Program
    index: Index
    typing: Typing | None


class Analysis:
    """Everything known about one text of one file; the parts besides diagnostics are lazy."""

    def __init__(
        self,
        path: str,
        text: str,
        config: LintConfig,
        problems: tuple[Diagnostic, ...],
        parsed: ast.Program | None = None,
        open_files: Mapping[str, str] | None = None,
    ):
        self.path = path
        self.text = text
        self.parsed = parsed
        self.result: CompileResult = compile_source(text, path, parsed=parsed,
                                                    open_files=open_files)
        found = (
            lint_plan(self.result.plan, path, text, config, self.result.diagnostics)
            if self.result.plan is not None
            else apply_config(self.result.diagnostics, path, text, config)
        )
        self.diagnostics: tuple[Diagnostic, ...] = (*problems, *found)

    @functools.cached_property
    def program(self) -> ast.Program | None:
        """The parsed program (what error recovery kept of it), None when nothing parses."""
        from adf.syntax.parser import parse

        return self.parsed if self.parsed is not None else parse(self.text)[0]

    @functools.cached_property
    def semantics(self) -> Semantics | None:
        """The parsed program with its index, or None when the text does not parse."""
        from adf.compiler.graph import build_graph
        from adf.compiler.resolve import resolve
        from adf.compiler.typecheck import typecheck

        program = self.program
        if program is None:
            return None
        scope, _ = resolve(program)
        graph, _ = build_graph(program, scope)
        typing, _ = typecheck(program, scope, graph)
        return Semantics(program, build_index(program), typing)

    @functools.cached_property
    def reachability(self) -> Reachability | None:
        """Gradient reachability of the compiled plan (None while the file has errors)."""
        from adf.analysis.graphview import build_view
        from adf.analysis.reachability import compute_reachability

        plan = self.result.plan
        return compute_reachability(build_view(plan)) if plan is not None else None


class Analyses:
    """A small cache of analyses keyed by (path, text), newest last."""

    def __init__(self, size: int = 16) -> None:
        self._size = size
        self._cache: OrderedDict[tuple[str, str, object], Analysis] = OrderedDict()
        self._last_parsed: dict[str, Semantics] = {}
        self._pieces: dict[str, Pieces] = {}

    def get(self, path: str, text: str, open_files: Mapping[str, str] | None = None) -> Analysis:
        """The analysis of `text`; a new one reads the files it uses in `open_files` (the
        editor's texts, by real path) when they are open there. A cached one is kept until
        `refresh`: the editor refreshes a file's analyses when a file it uses changes."""
        key = (path, text, _config_stamp(path))
        found = self._cache.get(key)
        if found is not None:
            self._cache.move_to_end(key)
            return found
        config, problems = load_lint_config(path)
        parsed, self._pieces[path] = parse_incrementally(text, self._pieces.get(path, {}))
        analysis = Analysis(path, text, config, problems, parsed, open_files)
        self._cache[key] = analysis
        while len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return analysis

    def semantics(
        self, path: str, text: str, open_files: Mapping[str, str] | None = None
    ) -> Semantics | None:
        """This text's semantics, or those of the last text of `path` that parsed."""
        current = self.get(path, text, open_files).semantics
        if current is not None:
            self._last_parsed[path] = current
            return current
        return self._last_parsed.get(path)

    def refresh(self, path: str) -> None:
        """Drop the analyses of `path` (files it reads may have changed: its Python modules,
        the files it uses); keep its parse."""
        for key in [k for k in self._cache if k[0] == path]:
            del self._cache[key]

    def forget(self, path: str) -> None:
        self.refresh(path)
        self._last_parsed.pop(path, None)
        self._pieces.pop(path, None)


def _config_stamp(path: str) -> tuple[str, int] | None:
    """Which pyproject.toml configures `path`, and when it last changed."""
    found = find_pyproject(path) if os.path.isabs(path) else None
    if found is None:
        return None
    try:
        return found, os.stat(found).st_mtime_ns
    except OSError:
        return None
