"""Hover, navigation, rename, completion, symbols, formatting, folding, tokens and quick fixes,
each through the real server."""

from __future__ import annotations

import json
import pathlib
import shutil

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from adf.optim.lockfile import LOCK_FORMAT, LOCK_VERSION, lock_path
from adf.syntax.fmt import format_source

from .lsp_client import EXAMPLES, Doc, apply_edits

pytestmark = pytest.mark.asyncio(loop_scope="module")

GSM8K = next(p for p in EXAMPLES if p.name == "gsm8k.adf")
AGENT = next(p for p in EXAMPLES if p.name == "agent.adf")


async def hover(
    client: LanguageClient, doc: Doc, needle: str, occurrence: int = 0, offset: int = 0
) -> str:
    result = await client.text_document_hover_async(
        types.HoverParams(text_document=doc.ident(), position=doc.position(needle, occurrence, offset))
    )
    assert result is not None, needle
    assert isinstance(result.contents, types.MarkupContent)
    return result.contents.value


async def test_hover_shows_types_descriptions_and_gradient_paths(client: LanguageClient) -> None:
    doc = Doc(client, GSM8K)
    await doc.diagnostics()
    instruction = await hover(client, doc, "instruction", 1)  # used in the llm's system list
    assert "param instruction: prompt" in instruction
    assert "how to solve the math word problem" in instruction
    assert "on a gradient path" in instruction
    assert "Solve the math word problem" in instruction
    frozen = await hover(client, doc, "answer_format", 1)
    assert "frozen" in frozen and "training never changes it" in frozen
    node = await hover(client, doc, "pred", 1)  # the use in `last_number(reasoning)`'s node
    assert "type: `float`" in node
    llm = await hover(client, doc, "solve(question)")
    assert "llm solve(question: str) -> str using student" in llm
    argument = await hover(client, doc, "{question}", offset=1)
    assert "question: str" in argument and "argument of `solve`" in argument
    target = await hover(client, doc, "answer, tolerance")
    assert 'target answer: float from "final_answer"' in target
    std = await hover(client, doc, "std.parse.last_number", offset=6)
    assert "std.parse.last_number(text: str) -> float" in std
    metric = await hover(client, doc, "numeric_match")
    assert "std.loss.numeric_match(pred, target, tolerance: float)" in metric
    doc.close()


async def test_hover_says_why_a_param_gets_no_gradient(
    client: LanguageClient, tmp_path: pathlib.Path
) -> None:
    source = (
        'model m = "local"\ninput q: str\ntarget t: str\nparam unused: prompt = "x"\n'
        'llm ask(q: str) -> str { user: "{q}" }\nnode a = ask(q)\n'
        "loss l = std.loss.exact_match(a, t)\noutput a\n"
    )
    doc = Doc(client, tmp_path / "p.adf", source)
    await doc.diagnostics()
    text = await hover(client, doc, "unused")
    assert "not on a gradient path" in text
    assert "W0" in text  # the warning that explains it
    doc.close()


async def test_hover_shows_the_trained_value_from_the_lock_file(
    client: LanguageClient, tmp_path: pathlib.Path
) -> None:
    folder = tmp_path / "gsm8k"
    shutil.copytree(GSM8K.parent, folder)
    path = folder / GSM8K.name
    lock = {
        "format": LOCK_FORMAT,
        "version": LOCK_VERSION,
        "params": {"instruction": {"value": "Think in small steps, then check the sum."}},
    }
    pathlib.Path(lock_path(str(path))).write_text(json.dumps(lock), encoding="utf-8")
    doc = Doc(client, path)
    await doc.diagnostics()
    text = await hover(client, doc, "instruction")
    assert "trained value (lock file)" in text
    assert "Think in small steps, then check the sum." in text
    assert "Solve the math word problem" in text  # the source value beside it
    doc.close()


async def test_definition_and_references(client: LanguageClient) -> None:
    doc = Doc(client, AGENT)
    await doc.diagnostics()
    target = await client.text_document_definition_async(
        types.DefinitionParams(text_document=doc.ident(), position=doc.position("next_step(question, scratchpad)"))
    )
    assert isinstance(target, types.Location)
    assert target.range.start == doc.position("next_step(question: str")
    refs = await client.text_document_references_async(
        types.ReferenceParams(
            text_document=doc.ident(),
            position=doc.position("scratchpad: str ="),
            context=types.ReferenceContext(include_declaration=True),
        )
    )
    assert refs is not None
    lines = sorted(r.range.start.line for r in refs)
    assert doc.position("state scratchpad").line in lines
    assert doc.position("scratchpad = scratchpad").line in lines  # the update and its read
    assert len(refs) == 5  # the state, its update, and three reads; llm arguments are others
    highlights = await client.text_document_document_highlight_async(
        types.DocumentHighlightParams(text_document=doc.ident(), position=doc.position("{question}", offset=1))
    )
    assert highlights is not None and len(highlights) == 2  # the argument and its placeholder
    doc.close()


async def test_rename_keeps_placeholders_and_keyword_arguments_in_sync(
    client: LanguageClient, tmp_path: pathlib.Path
) -> None:
    source = (
        'model m = "local"\ninput q: str\n'
        'llm ask(question: str) -> str { user: """Q: {question}\nagain {question}""" }\n'
        "node a = ask(question: q)\nnode b = ask(a)\noutput b\n"
    )
    doc = Doc(client, tmp_path / "r.adf", source)
    await doc.diagnostics()
    prepared = await client.text_document_prepare_rename_async(
        types.PrepareRenameParams(text_document=doc.ident(), position=doc.position("{question}", offset=1))
    )
    assert prepared is not None
    edit = await client.text_document_rename_async(
        types.RenameParams(text_document=doc.ident(), position=doc.position("question: str"), new_name="query")
    )
    assert edit is not None and edit.changes is not None
    renamed = apply_edits(source, edit.changes[doc.uri])
    assert renamed.count("query") == 4 and "question" not in renamed
    doc.replace(renamed)
    assert not await doc.diagnostics()
    edit = await client.text_document_rename_async(
        types.RenameParams(
                text_document=doc.ident(), position=doc.position("a)"), new_name="first"
            )
    )
    assert edit is not None and edit.changes is not None
    assert apply_edits(renamed, edit.changes[doc.uri]).count("first") == 2
    with pytest.raises(Exception, match="already declared"):
        await client.text_document_rename_async(
            types.RenameParams(
                text_document=doc.ident(), position=doc.position("a)"), new_name="b"
            )
        )
    with pytest.raises(Exception, match="not a valid name"):
        await client.text_document_rename_async(
            types.RenameParams(
                text_document=doc.ident(), position=doc.position("a)"), new_name="2x"
            )
        )
    doc.close()


async def complete(client: LanguageClient, doc: Doc, position: types.Position) -> dict[str, types.CompletionItem]:
    result = await client.text_document_completion_async(types.CompletionParams(text_document=doc.ident(), position=position))
    assert isinstance(result, types.CompletionList)
    return {item.label: item for item in result.items}


async def test_completion_by_context(client: LanguageClient, tmp_path: pathlib.Path) -> None:
    source = GSM8K.read_text(encoding="utf-8")
    doc = Doc(client, tmp_path / "c.adf", source)
    await doc.diagnostics()
    top = await complete(client, doc, doc.position("node pred"))
    assert {"solve", "question", "instruction", "node", "llm", "str"} <= set(top)
    assert top["solve"].kind == types.CompletionItemKind.Function
    # a placeholder inside a template, typed mid-way
    doc.replace(source.replace('"Problem: {question}"', '"Problem: {question} {q"'))
    await doc.diagnostics()
    holes = await complete(client, doc, doc.position("{q\"", offset=2))
    assert set(holes) == {"question"}
    # std functions with their signatures, replacing the dotted prefix
    doc.replace(source.replace("= std.parse.last_number", "= std.pa"))
    await doc.diagnostics()
    std = await complete(client, doc, doc.position("std.pa", offset=6))
    assert std["std.parse.last_number"].detail == "(text: str) -> float"
    assert "std.loss.numeric_match" in std
    edit = std["std.parse.last_int"].text_edit
    assert isinstance(edit, types.TextEdit)
    assert edit.range.start == doc.position("std.pa")
    # model options and call arguments
    options = await complete(client, doc, doc.position("temperature"))
    assert {"temperature", "max_tokens", "context", "api_base", "api_key"} <= set(options)
    doc.replace(source.replace("solve(question)", "solve()"))
    await doc.diagnostics()
    args = await complete(client, doc, doc.position("solve()", offset=6))
    assert "question:" in args
    doc.close()


async def test_symbols_folding_tokens_and_formatting(
    client: LanguageClient, tmp_path: pathlib.Path
) -> None:
    doc = Doc(client, AGENT)
    await doc.diagnostics()
    symbols = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(text_document=doc.ident())
    )
    assert symbols is not None
    by_name = {s.name: s for s in symbols if isinstance(s, types.DocumentSymbol)}
    assert by_name["next_step"].kind == types.SymbolKind.Function
    assert [c.name for c in by_name["next_step"].children or []] == ["question", "scratchpad"]
    assert [c.name for c in by_name["step"].children or []] == ["expression", "result"]
    assert by_name["student"].kind == types.SymbolKind.Class
    folds = await client.text_document_folding_range_async(types.FoldingRangeParams(text_document=doc.ident()))
    assert folds is not None
    spans = {(f.start_line, f.end_line) for f in folds}
    assert (0, 4) in spans  # the opening comment block
    assert (doc.position("loop step").line, doc.position("node reply").line - 2) in spans
    tokens = await client.text_document_semantic_tokens_full_async(
        types.SemanticTokensParams(text_document=doc.ident())
    )
    assert tokens is not None and len(tokens.data) % 5 == 0
    assert len(tokens.data) // 5 >= 40
    doc.close()
    messy = 'model m="local"\ninput q:str\nllm ask(q:str)->str{user:"{q}"}\nnode a=ask(q)\noutput a\n'
    doc = Doc(client, tmp_path / "f.adf", messy)
    await doc.diagnostics()
    edits = await client.text_document_formatting_async(
        types.DocumentFormattingParams(
            text_document=doc.ident(), options=types.FormattingOptions(tab_size=2, insert_spaces=True)
        )
    )
    assert edits is not None
    assert apply_edits(messy, edits) == format_source(messy)[0]
    doc.close()


async def test_quick_fixes(client: LanguageClient, tmp_path: pathlib.Path) -> None:
    source = (
        'model m = "local"\ninput q: str\nllm ask(q: str, extra: str) -> str { user: "{q}" }\n'
        "node a = ask(q)\nnode b = ask(qq, q)\noutput a\noutput b\n"
    )
    doc = Doc(client, tmp_path / "q.adf", source)
    found = {d.code: d for d in await doc.diagnostics()}
    assert {"E0102", "E0204"} <= set(found)

    async def actions_for(code: str) -> dict[str, types.CodeAction]:
        d = found[code]
        result = await client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=doc.ident(), range=d.range, context=types.CodeActionContext(diagnostics=[d])
            )
        )
        assert result is not None
        return {a.title: a for a in result if isinstance(a, types.CodeAction)}

    def fixed(action: types.CodeAction) -> str:
        assert action.edit is not None and action.edit.changes is not None
        return apply_edits(source, action.edit.changes[doc.uri])

    mean = await actions_for("E0102")
    assert "node b = ask(q, q)" in fixed(mean["replace with `q`"])
    missing = await actions_for("E0204")
    assert "node a = ask(q, extra: extra)" in fixed(missing["add the argument `extra`"])
    doc.replace(source.replace("node b = ask(qq, q)", "node b = ask(q, q)").replace("ask(q)", "ask(q, q)"))
    found = {d.code: d for d in await doc.diagnostics()}
    assert set(found) == {"W0201"}
    source = doc.text
    allow = await actions_for("W0201")
    silenced = fixed(allow["allow W0201 on this line"])
    assert "# adf: allow W0201\nllm ask" in silenced
    doc.replace(silenced)
    assert await doc.diagnostics() == []
    doc.close()


async def test_renaming_any_declaration_keeps_the_program_meaning_the_same(
    client: LanguageClient, tmp_path: pathlib.Path
) -> None:
    """Rename every declared name of two examples in turn: each result checks exactly like
    the original (same codes), and the old name is gone from the code."""
    from adf.compiler.pipeline import compile_source
    from adf.lsp.analysis import Analyses

    for example in (GSM8K, AGENT):
        source = example.read_text(encoding="utf-8")
        path = tmp_path / example.name
        codes = sorted(d.code for d in compile_source(source, str(path)).diagnostics)
        semantics = Analyses().semantics(str(path), source)
        assert semantics is not None
        doc = Doc(client, path, source)
        await doc.diagnostics()
        renamed_kinds = set()
        for key, definition in semantics.index.definitions.items():
            position = types.Position(definition.span.line - 1, definition.span.col - 1)
            new_name = f"{key[1]}_renamed"
            if semantics.index.definitions[("", key[0] or key[1])].kind == "fn" and key[0]:
                with pytest.raises(Exception, match="passed by name"):
                    await client.text_document_rename_async(
                        types.RenameParams(
                            text_document=doc.ident(), position=position, new_name=new_name
                        )
                    )
                continue
            edit = await client.text_document_rename_async(
                types.RenameParams(text_document=doc.ident(), position=position, new_name=new_name)
            )
            assert edit is not None and edit.changes is not None
            renamed = apply_edits(source, edit.changes[doc.uri])
            after = compile_source(renamed, str(path))
            assert sorted(d.code for d in after.diagnostics) == codes, (key, renamed)
            assert len(edit.changes[doc.uri]) == len(semantics.index.references(key))
            renamed_kinds.add(definition.kind)
        doc.close()
        assert {"param", "llm", "fn", "node", "input", "target", "model", "arg", "loss"} <= renamed_kinds


USE = next(p for p in EXAMPLES if p.name == "sst5_use.adf")


async def test_definition_of_a_used_files_function_opens_that_file(client: LanguageClient) -> None:
    doc = Doc(client, USE)
    await doc.diagnostics()
    target = await client.text_document_definition_async(
        types.DefinitionParams(text_document=doc.ident(), position=doc.position("rater.rate(", offset=7))
    )
    assert isinstance(target, types.Location)
    rater = USE.parent / "rater.adf"
    assert target.uri == rater.as_uri()
    line = next(i for i, text in enumerate(rater.read_text().splitlines()) if text.startswith("llm rate("))
    assert (target.range.start.line, target.range.start.character) == (line, 4)
    doc.close()


async def test_hover_on_a_used_files_function_shows_its_head_there(client: LanguageClient) -> None:
    doc = Doc(client, USE)
    await doc.diagnostics()
    text = await hover(client, doc, "rater.rate(", offset=7)
    assert "llm rate(text: str) -> enum" in text and "declared in `rater.adf`" in text
    doc.close()


CALL = next(p for p in EXAMPLES if p.name == "sst5_call.adf")


async def test_hover_on_a_workflow_call_shows_the_used_files_signature(
        client: LanguageClient) -> None:
    doc = Doc(client, CALL)
    diagnostics = await doc.diagnostics()
    assert diagnostics == []  # the call checks clean in the editor too
    signature = "judge(text: str) -> enum{very negative, negative, neutral, positive, very positive}"
    # the alias in the call, the call's node, the alias at its `use`
    for needle, offset in (("judge(opinion)", 1), ("node pred", 6), ("as judge", 4)):
        text = await hover(client, doc, needle, 0, offset)
        assert "workflow of `judge.adf`" in text and signature in text, needle
    doc.close()


async def test_definition_of_a_workflow_call_opens_the_used_files_output(
        client: LanguageClient) -> None:
    doc = Doc(client, CALL)
    await doc.diagnostics()
    target = await client.text_document_definition_async(
        types.DefinitionParams(text_document=doc.ident(), position=doc.position("judge(opinion)", 0, 1))
    )
    assert isinstance(target, types.Location)
    judge = CALL.parent / "judge.adf"
    assert target.uri == judge.as_uri()
    line = judge.read_text().splitlines().index("output pred")
    assert (target.range.start.line, target.range.start.character) == (line, 0)
    doc.close()
