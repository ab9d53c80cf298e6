"""Diagnostics as you type: the server reports what `adfc check` reports, and keeps up with edits."""

from __future__ import annotations

import asyncio
import json
import pathlib
import subprocess
import sys

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from compiler.test_diagnostics import CASES

from .lsp_client import EXAMPLES, Doc

pytestmark = pytest.mark.asyncio(loop_scope="module")


def check_json(paths: list[pathlib.Path]) -> dict[str, list[dict[str, object]]]:
    """`adfc check --format json` over the files, grouped by file."""
    run = subprocess.run(
        [sys.executable, "-m", "adf.cli.main", "check", "--format", "json", *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode in (0, 1), run.stderr
    grouped: dict[str, list[dict[str, object]]] = {str(p): [] for p in paths}
    for entry in json.loads(run.stdout):
        grouped.setdefault(str(entry["file"]), []).append(entry)
    return grouped


def as_check(published: list[types.Diagnostic]) -> list[tuple[object, ...]]:
    return sorted(
        (d.code, d.range.start.line + 1, d.range.start.character + 1, d.message.split("\n")[0])
        for d in published
    )


def expected(entries: list[dict[str, object]]) -> list[tuple[object, ...]]:
    rows = []
    for e in entries:
        primary = e["primary"]
        assert isinstance(primary, dict)
        rows.append((e["code"], primary["line"], primary["col"], e["message"]))
    return sorted(rows)


async def test_every_example_gets_the_diagnostics_of_check(client: LanguageClient) -> None:
    wanted = check_json(EXAMPLES)
    assert len(EXAMPLES) >= 7
    for path in EXAMPLES:
        doc = Doc(client, path)
        assert as_check(await doc.diagnostics()) == expected(wanted[str(path)]), path.name
        doc.close()


async def test_broken_programs_get_the_diagnostics_of_check(
    client: LanguageClient, tmp_path: pathlib.Path
) -> None:
    paths = []
    for number, (_, source, _codes) in enumerate(CASES):
        path = tmp_path / f"case{number}.adf"
        path.write_text(source, encoding="utf-8")
        paths.append(path)
    wanted = check_json(paths)
    broken = 0
    for path in paths:
        doc = Doc(client, path)
        got = await doc.diagnostics()
        assert as_check(got) == expected(wanted[str(path)]), path.read_text()
        broken += any(d.severity == types.DiagnosticSeverity.Error for d in got)
        doc.close()
    assert broken >= len(CASES) // 2


async def test_diagnostics_carry_code_links_related_spans_and_help(
    client: LanguageClient, tmp_path: pathlib.Path
) -> None:
    path = tmp_path / "twice.adf"
    doc = Doc(client, path, 'model m = "local"\ninput q: str\ninput q: str\n')
    (found,) = [d for d in await doc.diagnostics() if d.code == "E0101"]
    assert found.source == "adf"
    assert found.severity == types.DiagnosticSeverity.Error
    assert found.code_description is not None
    assert found.code_description.href.endswith("E0101.md")
    assert pathlib.Path(found.code_description.href.removeprefix("file://")).is_file()
    assert found.related_information is not None
    assert found.related_information[0].location.range.start.line == 1
    assert "first declared here" in found.related_information[0].message
    assert "help: rename one of them" in found.message
    doc.close()


async def test_edits_update_the_diagnostics(client: LanguageClient) -> None:
    path = next(p for p in EXAMPLES if p.name == "gsm8k.adf")
    doc = Doc(client, path)
    assert not [d for d in await doc.diagnostics() if d.severity == types.DiagnosticSeverity.Error]
    doc.replace(doc.text.replace("node reasoning = solve(question)", "node reasoning = solv(question)"))
    (error,) = await doc.diagnostics()
    assert error.code == "E0102"
    assert "did you mean `solve`?" in error.message
    doc.replace(doc.text.replace("solv(question)", "solve(question)"))
    assert not [d for d in await doc.diagnostics() if d.severity == types.DiagnosticSeverity.Error]
    # a syntax error mid-typing, then a burst of changes: only the newest text counts
    doc.replace(doc.text.replace("output pred", "output"))
    (syntax,) = await doc.diagnostics()
    assert syntax.code.startswith("E000")
    for step in range(5):
        doc.replace(doc.text + f"\n# typing {step}")
    doc.replace(doc.text.replace("\noutput\n", "\noutput pred\n"))
    assert not [d for d in await doc.diagnostics() if d.severity == types.DiagnosticSeverity.Error]
    doc.close()


async def test_tool_adf_configuration_is_honoured(
    client: LanguageClient, tmp_path: pathlib.Path
) -> None:
    source = 'model m = "local"\ninput q: str\nllm ask(q: str, extra: str) -> str { user: "{q}" }\nnode a = ask(q, q)\noutput a\n'
    plain = Doc(client, tmp_path / "plain" / "w.adf", source)
    assert "W0201" in {d.code for d in await plain.diagnostics()}
    plain.close()
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text('[tool.adf]\ndisable = ["W0201"]\n', encoding="utf-8")
    configured = Doc(client, project / "w.adf", source)
    assert "W0201" not in {d.code for d in await configured.diagnostics()}
    configured.close()
    (project / "pyproject.toml").write_text('[tool.adf]\nerror = ["W0201"]\n', encoding="utf-8")
    promoted = Doc(client, project / "v.adf", source)
    (w,) = [d for d in await promoted.diagnostics() if d.code == "W0201"]
    assert w.severity == types.DiagnosticSeverity.Error
    # a change to pyproject.toml is seen at the next edit, even of the same text
    (project / "pyproject.toml").write_text('[tool.adf]\ndisable = ["W0201"]\n', encoding="utf-8")
    promoted.replace(source + "# edited\n")
    promoted.replace(source)
    assert "W0201" not in {d.code for d in await promoted.diagnostics()}
    promoted.close()


async def test_closing_clears_the_diagnostics(client: LanguageClient, tmp_path: pathlib.Path) -> None:
    doc = Doc(client, tmp_path / "x.adf", "node a = nope\n")
    assert await doc.diagnostics()
    client.diagnostics.pop(doc.uri)
    doc.close()
    assert await doc.diagnostics() == []


async def test_a_burst_of_changes_is_checked_once_for_its_newest_text(
    client: LanguageClient, tmp_path: pathlib.Path
) -> None:
    source = next(p for p in EXAMPLES if p.name == "hotpotqa.adf").read_text(encoding="utf-8")
    doc = Doc(client, tmp_path / "burst.adf", source)
    await doc.diagnostics()
    published: list[tuple[str, int | None]] = client.adf_published  # type: ignore[attr-defined]
    before = len(published)
    for step in range(30):
        doc.replace(source + f"node extra{step} = nothing{step}\n")
    (error,) = [d for d in await doc.diagnostics() if d.code == "E0102"]
    assert "nothing29" in error.message
    versions = [v for u, v in published[before:] if u == doc.uri]
    assert versions[-1] == doc.version
    assert versions == sorted(versions)  # never an older version after a newer one
    assert len(versions) < 30
    doc.close()


async def test_errors_in_a_used_file_are_published_there_and_marked_at_the_use(
    client: LanguageClient, tmp_path: pathlib.Path
) -> None:
    used = tmp_path / "common.adf"
    used.write_text('model m = "local"\nllm ask(q: str) -> str using m { user: missing }\n', encoding="utf-8")
    doc = Doc(client, tmp_path / "main.adf",
              'use "common.adf" as common\nmodel m = "local"\ninput q: str\nnode a = common.ask(q)\noutput a\n')
    (marker,) = await doc.diagnostics()
    assert (marker.code, marker.range.start.line) == ("E0116", 0)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while used.as_uri() not in client.diagnostics and loop.time() < deadline:
        await asyncio.sleep(0.05)
    assert used.as_uri() in client.diagnostics, "nothing published for the used file"
    (inside,) = client.diagnostics[used.as_uri()]
    assert (inside.code, inside.range.start.line) == ("E0102", 1)
    doc.close()


async def test_a_used_file_open_in_the_editor_keeps_its_own_diagnostics(
    client: LanguageClient, tmp_path: pathlib.Path
) -> None:
    used_path = tmp_path / "common.adf"
    used_path.write_text('model m = "local"\nllm ask(q: str) -> str using m { user: missing }\n',
                         encoding="utf-8")
    # its buffer has unsaved edits: two lines more above the error than on disk
    used = Doc(client, used_path, "# one\n# two\n" + used_path.read_text(encoding="utf-8"))
    own = sorted((d.code, d.range.start.line) for d in await used.diagnostics())
    assert ("E0102", 3) in own
    main = Doc(client, tmp_path / "main.adf",
               'use "common.adf" as common\nmodel m = "local"\ninput q: str\n'
               'node a = common.ask(q)\noutput a\n')
    (marker,) = await main.diagnostics()
    assert marker.code == "E0116"

    async def settled() -> list[types.Diagnostic]:
        # a request answered after every notification the server sent before it
        await client.text_document_document_symbol_async(
            types.DocumentSymbolParams(used.ident()))
        return sorted((d.code, d.range.start.line) for d in client.diagnostics[used.uri])

    assert await settled() == own
    main.close()  # closing the file that uses it leaves the open file's diagnostics alone
    assert await settled() == own
    assert all(uri != used.uri or version == used.version
               for uri, version in client.adf_published)  # type: ignore[attr-defined]
    used.close()


# --- a change to a used file checks again the open files that use it ---

COMMON = 'model m = "local"\nllm ask(q: str) -> str using m { user: "{q}" }\n'
BROKEN = 'model m = "local"\nllm ask(q: str) -> str using m { user: missing }\n'
USER = ('use "common.adf" as common\nmodel m = "local"\ninput q: str\n'
        'node a = common.ask(q)\noutput a\n')


async def test_the_server_asks_the_editor_to_watch_adf_files(client: LanguageClient) -> None:
    registered: list[types.Registration] = client.adf_registered  # type: ignore[attr-defined]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while not registered and loop.time() < deadline:
        await asyncio.sleep(0.01)
    (watch,) = registered
    assert watch.method == types.WORKSPACE_DID_CHANGE_WATCHED_FILES
    options = watch.register_options
    assert isinstance(options, dict)  # as it came over the wire
    assert [w["globPattern"] for w in options["watchers"]] == ["**/*.adf"]


async def republished(doc: Doc, expected: list[tuple[str, int]]) -> None:
    """Wait until the diagnostics published for `doc` (whose own text does not change) are
    (code, line) `expected`. Each test flips between a clean and a broken state, so a
    publish that was already on its way when the state flipped never matches."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    found: list[tuple[object, int]] | None = None
    while loop.time() < deadline:
        if doc.uri in doc.client.diagnostics:
            found = sorted((d.code, d.range.start.line) for d in doc.client.diagnostics[doc.uri])
            if found == expected:
                return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{doc.path.name}: expected {expected}, last published {found}")


async def test_typing_in_an_open_used_file_rechecks_the_file_that_uses_it(
    client: LanguageClient, tmp_path: pathlib.Path
) -> None:
    (tmp_path / "common.adf").write_text(COMMON, encoding="utf-8")
    main = Doc(client, tmp_path / "main.adf", USER)
    assert await main.diagnostics() == []
    used = Doc(client, tmp_path / "common.adf")
    assert [d.code for d in await used.diagnostics()] == ["W0509"]  # `ask`: called elsewhere
    used.replace(BROKEN)  # unsaved: the disk still holds the clean file
    await republished(main, [("E0116", 0)])
    assert ("E0102", 1) in [(d.code, d.range.start.line) for d in await used.diagnostics()]
    used.replace(COMMON)
    await republished(main, [])
    used.replace(BROKEN)
    await republished(main, [("E0116", 0)])
    used.close()  # its unsaved edits are gone: the file on disk is clean
    await republished(main, [])
    main.close()


async def test_a_used_file_changed_on_disk_rechecks_the_files_that_use_it_through_others(
    client: LanguageClient, tmp_path: pathlib.Path
) -> None:
    common = tmp_path / "lib" / "common.adf"
    common.parent.mkdir()
    common.write_text(COMMON, encoding="utf-8")
    (tmp_path / "mid.adf").write_text(
        'use "lib/common.adf" as common\nmodel m = "local"\n'
        'llm twice(q: str) -> str using m { user: "{q} {q}" }\n', encoding="utf-8")
    top = Doc(client, tmp_path / "top.adf",
              'use "mid.adf" as mid\nmodel m = "local"\ninput q: str\n'
              'node a = mid.twice(q)\noutput a\n')
    assert await top.diagnostics() == []
    for text, expected in ((BROKEN, [("E0116", 0)]), (COMMON, [])):
        common.write_text(text, encoding="utf-8")
        client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(
            [types.FileEvent(common.as_uri(), types.FileChangeType.Changed)]))
        await republished(top, expected)  # mid.adf has errors: those of common.adf
    top.close()


async def test_saving_a_used_file_rechecks_the_file_that_uses_it(
    client: LanguageClient, tmp_path: pathlib.Path
) -> None:
    module = tmp_path / "helpers.py"
    module.write_text("def shout(text: str) -> str:\n    return text.upper()\n", encoding="utf-8")
    used_path = tmp_path / "common.adf"
    used_path.write_text('fn shout(text: str) -> str = py "helpers:shout"\n', encoding="utf-8")
    main = Doc(client, tmp_path / "main.adf",
               'use "common.adf" as common\ninput q: str\nnode a = common.shout(q)\noutput a\n')
    assert await main.diagnostics() == []
    used = Doc(client, used_path)
    await used.diagnostics()
    # the Python module the used file names loses its function: seen when the file is saved
    module.write_text("def other(text: str) -> str:\n    return text\n", encoding="utf-8")
    client.text_document_did_save(types.DidSaveTextDocumentParams(used.ident()))
    await republished(main, [("E0116", 0)])
    used.close()
    main.close()
