"""What the README, `docs/` and the example READMEs show a reader can be done as shown.

- every relative link resolves to a file, and an anchor to a heading of it;
- every diagnostic code they name exists (`adfc explain CODE` has a page);
- every `adfc ...` line of a code block parses with that command's own
  options, and the `.adf` file it names exists;
- every "`adfc check FILE` → `ok`" claim holds (no diagnostic, lints included);
- every `adf.module` or `adf.module.name` they name exists in `src/`.
"""

from __future__ import annotations

import argparse
import importlib
import re
import shlex
from pathlib import Path

import pytest
from docs_pages import CODES, REPO, linted_codes

from adf.cli.main import COMMANDS, HelpFormatter
from adf.compiler.pipeline import compile_file

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")),
         *sorted((REPO / "examples").glob("*/README.md")), REPO / "bench" / "README.md"]
NAMES = [str(page.relative_to(REPO)) for page in PAGES]
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.M | re.S)
COMMAND_LINE = re.compile(r"^(?:\$ )?(?:timeout \d+ )?(?:[A-Z_]+=\S+ )*adfc (.*)$")


def _text(page: Path) -> str:
    return page.read_text(encoding="utf-8")


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _links(page: Path) -> list[str]:
    prose = FENCE.sub("", _text(page))
    return [link for link in re.findall(r"\]\(([^)\s]+)\)", prose)
            if not link.startswith(("http://", "https://", "mailto:"))]


@pytest.mark.parametrize("name", NAMES)
def test_relative_links_resolve(name: str) -> None:
    page = REPO / name
    for link in _links(page):
        path, _, fragment = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        assert target.exists(), link
        if fragment and target.suffix == ".md":
            headings = re.findall(r"^#+ (.*)$", FENCE.sub("", _text(target)), re.M)
            assert fragment in {_anchor(h) for h in headings}, link


@pytest.mark.parametrize("name", NAMES)
def test_named_codes_exist(name: str) -> None:
    named = set(re.findall(r"\b[EW]\d{4}\b", _text(REPO / name)))
    assert named <= set(CODES), sorted(named - set(CODES))


def _command_lines() -> list[tuple[str, str]]:
    found = []
    for page, name in zip(PAGES, NAMES, strict=True):
        if page.parent.name == "bench":
            continue  # its code blocks are measured tables, its commands `python bench/...`
        for language, body in FENCE.findall(_text(page)):
            if language in ("adf", "python", "toml", "lua", "json"):
                continue
            for line in re.sub(r"\\\n\s*", " ", body).splitlines():
                match = COMMAND_LINE.match(line.strip())
                if match and "..." not in line and "[" not in line:
                    found.append((name, match.group(1).split("#")[0].rstrip(" &")))
    return found


COMMAND_LINES = _command_lines()


def test_the_pages_show_commands() -> None:
    assert len(COMMAND_LINES) >= 20


@pytest.mark.parametrize(("name", "line"), COMMAND_LINES)
def test_command_line_parses(name: str, line: str) -> None:
    words = shlex.split(line)
    command = words[0]
    assert command in COMMANDS, line
    module = importlib.import_module(COMMANDS[command][0])
    parser = argparse.ArgumentParser(prog=f"adfc {command}", formatter_class=HelpFormatter)
    module.configure(parser)
    try:
        parser.parse_args(words[1:])
    except SystemExit as exc:
        if exc.code != 0:  # `--help` exits 0
                pytest.fail(f"{name}: `adfc {line}` does not parse")
    for word in words[1:]:
        if word.endswith(".adf") and word.startswith("examples/"):
            assert (REPO / word).is_file(), word


CHECK_OK = [(name, path) for page, name in zip(PAGES, NAMES, strict=True)
            for path in re.findall(r"`adfc check (\S+\.adf)` → `ok`", _text(page))]


@pytest.mark.parametrize(("name", "path"), CHECK_OK)
def test_check_ok_claims_hold(name: str, path: str) -> None:
    result = compile_file(str(REPO / path))
    assert linted_codes(result) == set(), name


def _defines(name: str) -> bool:
    """`adf.a.b` is a module or package under src/, or `b` (and any `.c` after it, as a
    method) is defined, re-exported or lazily exported at the top of the module before it."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        path = REPO / "src" / Path(*parts[:cut])
        module = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
        if module.is_file():
            break
    else:
        return False
    text = module.read_text(encoding="utf-8")
    for depth, attr in enumerate(parts[cut:]):
        indent = "    " * depth
        forms = [rf"^{indent}(?:class|def|async def) {attr}\b", rf"^{attr}\b", rf"import {attr} as {attr}\b",
                 rf'^\s+"{attr}": "adf\.']
        if not re.search("|".join(forms), text, re.M):
            return False
    return True


NOT_MODULES = {"adf.lark", "adf.server.command", "adf.server.debounceMs"}  # a file, editor settings


@pytest.mark.parametrize("name", NAMES)
def test_named_modules_and_functions_exist(name: str) -> None:
    named = set(re.findall(r"`(adf(?:\.\w+)+)", _text(REPO / name))) - NOT_MODULES
    assert [n for n in sorted(named) if not _defines(n)] == []
