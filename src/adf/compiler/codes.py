"""The registry of diagnostic codes, read from their documentation pages.

Takes nothing; gives `all_codes()` (code -> `CodeInfo`) and `explain(code)`.
The registry *is* the set of pages in `adf/docs/codes/*.md`: adding a code
means adding a page, and a test compiles every page's example to check it
emits exactly that code. A page looks like this:

    # E0102: undefined name
    severity: error
    phase: names
    summary: a name is used but never declared

    ## Example
    ```adf
    ...a program that emits exactly this code...
    ```

    ## Explanation
    ...
    ## Fix
    ...

An example about several files (`use`) opens each with a line
`# --- file NAME ---`; the first file is the one checked.

Phases: syntax (E00xx), names (E01xx), types (E02xx), graph (E03xx),
bindings (E04xx); W05xx and W06xx belong to the lints. A warning's page
uses the same layout with `severity: warning`.
"""

from __future__ import annotations

import os
import re

import attrs

PAGES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "codes")
_CODE = re.compile(r"[EW]\d{4}")
_HEADER = re.compile(r"#\s*([EW]\d{4})\s*:\s*(.+)")
_FILE = re.compile(r"^# --- file (\S+) ---\n", re.M)
_EXAMPLE = re.compile(r"##\s*Example\s*\n+```adf\n(.*?)\n```", re.S)


@attrs.frozen
class CodeInfo:
    code: str
    title: str
    severity: str
    phase: str
    summary: str
    page: str

    @property
    def example(self) -> str | None:
        """The program in the page's `## Example` block, if any."""
        match = _EXAMPLE.search(self.page)
        return match.group(1) + "\n" if match else None

    @property
    def example_files(self) -> tuple[tuple[str, str], ...]:
        """An example of several files (each opened by a `# --- file NAME ---` line,
        the first is the one checked): (name, text) pairs; () for a one-file example."""
        example = self.example
        if example is None or not example.startswith("# --- file "):
            return ()
        parts = _FILE.split(example)[1:]
        return tuple(zip(parts[::2], parts[1::2], strict=True))


def write_example(files: tuple[tuple[str, str], ...], folder: str) -> str:
    """Write an example's files under `folder`; the path of the first (the one checked)."""
    paths = []
    for name, text in files:
        path = os.path.join(folder, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        paths.append(path)
    return paths[0]


def parse_page(text: str) -> CodeInfo | None:
    lines = text.splitlines()
    if not lines:
        return None
    header = _HEADER.fullmatch(lines[0].strip())
    if header is None:
        return None
    fields: dict[str, str] = {}
    for line in lines[1:]:
        if not line.strip():
            if fields:
                break
            continue
        if line.startswith("#"):
            break
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip().lower()] = value.strip()
    return CodeInfo(
        code=header.group(1),
        title=header.group(2).strip(),
        severity=fields.get("severity", "error" if header.group(1).startswith("E") else "warning"),
        phase=fields.get("phase", ""),
        summary=fields.get("summary", ""),
        page=text,
    )


def all_codes(directory: str = PAGES) -> dict[str, CodeInfo]:
    """Every documented code, sorted by code."""
    found: dict[str, CodeInfo] = {}
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return found
    for name in names:
        if not name.endswith(".md"):
            continue
        try:
            with open(os.path.join(directory, name), encoding="utf-8") as handle:
                info = parse_page(handle.read())
        except (OSError, UnicodeDecodeError):
            continue
        if info is not None:
            found[info.code] = info
    return dict(sorted(found.items()))


def explain(code: str, directory: str = PAGES) -> str | None:
    """The page for `code` (case-insensitive, `e102` also finds E0102), or None."""
    normal = normalize(code)
    if normal is None:
        return None
    path = os.path.join(directory, f"{normal}.md")
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError:
        info = all_codes(directory).get(normal)
        return info.page if info else None


def normalize(code: str) -> str | None:
    """`e102` -> `E0102`; None when it cannot be a code."""
    text = code.strip().upper()
    match = re.fullmatch(r"([EW])(\d{1,4})", text)
    if match is None:
        return None
    normal = f"{match.group(1)}{int(match.group(2)):04d}"
    return normal if _CODE.fullmatch(normal) else None
