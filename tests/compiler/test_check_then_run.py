"""Check, then run: what `adfc check` accepts, the runtime runs; what it would reject, check rejects.

Hypothesis generates Python functions (positional-only, ordinary,
keyword-only and defaulted parameters, `*args`, `**kwargs`, `async def`,
reached directly, through an alias, a lambda or a re-export) and `fn`
declarations naming some of their parameters, and templates with
arbitrary braces and spaces. The oracle is the runtime itself:

- bindings: the program is compiled and, whatever check said, its plan is
  run by `adf.runtime.forward.run_sample` (fn nodes call no model). A
  binding error at run time (a `TypeError` from the call, a coroutine
  instead of a value) must happen exactly when check gave an error;
- templates: the llm's messages are rendered by the runtime's renderer;
  a template that checks clean must leave no placeholder unfilled and
  every argument's value in the text, and one check rejects must be one
  the renderer would leave partly unfilled or send braces the writer did
  not mean (malformed text);
- model options: option names mutated one edit away from the table's
  (and from provider extras `x_...`) with values of every kind; a program
  that checks clean must have every option reach the request built by
  `adf.llm.requests.build_request` as written (known ones typed and in
  range, extras under their provider name, adf's own never sent), and check
  must reject exactly the option lists the runtime would mis-send: an
  unknown unprefixed name, a value of the wrong kind or range, a repeat;
- a smaller number of whole programs (an fn feeding an llm) run on the
  fake OpenAI server through litellm.
Examples are derandomized, so CI runs the same ones each time.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import pathlib
import tempfile
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adf.compiler.pipeline import compile_source
from adf.llm.protocol import Message
from adf.llm.requests import build_request
from adf.plan import placeholders
from adf.plan.model_options import OPTIONS, OptionSpec, provider_name
from adf.plan.schema import EnvRef, OptionValue
from adf.runtime.bindings import bind
from adf.runtime.data import Sample
from adf.runtime.forward import run_sample
from adf.runtime.template import render_messages

NAMES = ("a", "b", "c", "d")
FOLDER = pathlib.Path(tempfile.mkdtemp(prefix="adf-check-then-run-"))  # modules named by content


@attrs.frozen
class Param:
    name: str
    kind: str  # "posonly" | "normal" | "kwonly"
    default: bool


@attrs.frozen
class PyFunction:
    params: tuple[Param, ...]
    varargs: bool
    kwargs: bool
    is_async: bool
    reached: str  # "def" | "alias" | "lambda" | "reexport"

    def signature(self) -> str:
        def word(p: Param) -> str:
            return p.name + ("=None" if p.default else "")

        words = [word(p) for p in self.params if p.kind == "posonly"]
        if words:
            words.append("/")
        words += [word(p) for p in self.params if p.kind == "normal"]
        keyword_only = [word(p) for p in self.params if p.kind == "kwonly"]
        if self.varargs:
            words.append("*args")
        elif keyword_only:
            words.append("*")
        words += keyword_only
        if self.kwargs:
            words.append("**kw")
        return ", ".join(words)

    def source(self) -> tuple[str, str]:
        """(module text, the name to bind)."""
        body = "return 'ok'"
        head = f"{'async ' if self.is_async else ''}def _impl({self.signature()}):\n    {body}\n"
        if self.reached == "def":
            return head.replace("_impl", "target"), "target"
        if self.reached == "alias":
            return head + "target = _impl\n", "target"
        if self.reached == "lambda" and not self.is_async:
            return f"target = lambda {self.signature()}: 'ok'\n", "target"
        return head, "_impl"


@st.composite
def functions(draw: st.DrawFn) -> PyFunction:
    names = draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=4))
    params: list[Param] = []
    seen_default = False
    for name in names:
        kind = draw(st.sampled_from(("posonly", "normal", "kwonly")))
        if params and _ORDER[kind] < _ORDER[params[-1].kind]:
            kind = params[-1].kind
        default = draw(st.booleans())
        if kind != "kwonly" and seen_default:
            default = True  # Python: non-default positional after a default is invalid
        seen_default = seen_default or (default and kind != "kwonly")
        params.append(Param(name, kind, default))
    return PyFunction(
        tuple(params),
        varargs=draw(st.booleans()),
        kwargs=draw(st.booleans()),
        is_async=draw(st.integers(0, 5)) == 0,
        reached=draw(st.sampled_from(("def", "alias", "lambda", "reexport"))),
    )


_ORDER = {"posonly": 0, "normal": 1, "kwonly": 2}


def _write(function: PyFunction) -> tuple[str, str]:
    """Write the module (and, for a re-export, a package re-exporting it); give the reference."""
    text, name = function.source()
    digest = hashlib.sha256(repr(function).encode()).hexdigest()[:12]
    module = f"m_{digest}"
    if function.reached == "reexport":
        package = FOLDER / f"p_{digest}"
        package.mkdir(exist_ok=True)
        (package / "impl.py").write_text(text, encoding="utf-8")
        (package / "__init__.py").write_text(f"from .impl import {name} as target\n", encoding="utf-8")
        return f"p_{digest}", "target"
    (FOLDER / f"{module}.py").write_text(text, encoding="utf-8")
    return module, name


class NoModel:
    async def complete(self, request: Any) -> Any:
        raise AssertionError("an fn-only plan calls no model")


def _run_fn_program(source: str) -> str:
    """Run the program's plan, whatever check says of the binding; give "ok" or the fn's error.

    The plan is compiled with the module out of the checker's sight (a warning,
    W0401, instead of the binding's verdict), then bound next to the module."""
    unchecked = compile_source(source, "t.adf", base_dir=str(FOLDER / "not-here"))
    plan = unchecked.plan
    assert plan is not None, [d.message for d in unchecked.diagnostics]
    bindings = bind(plan, str(FOLDER))
    sample = Sample("s", tuple((n, "v") for n in NAMES), ())
    outcome = asyncio.run(run_sample(plan, sample, NoModel(), {}, bindings))  # type: ignore[arg-type]
    (trace,) = [t for t in outcome.nodes if t.name == "n"]
    if trace.status != "ok":
        return trace.error or "failed"
    return "ok" if trace.value == "ok" else f"not a value: {trace.value!r}"


@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited:RuntimeWarning")
@settings(max_examples=2000, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(functions(), st.lists(st.sampled_from(NAMES), unique=True, max_size=4))
def test_bindings_check_then_run(function: PyFunction, declared: list[str]) -> None:
    module, name = _write(function)
    args = ", ".join(f"{n}: str" for n in declared)
    source = (
        "".join(f"input {n}: str\n" for n in NAMES)
        + f'fn f({args}) -> str = py "{module}:{name}"\n'
        + f"node n = f({', '.join(declared)})\n"
        + "output n\n"
    )
    checked = compile_source(source, str(FOLDER / "t.adf"), base_dir=str(FOLDER))
    binding_codes = {d.code for d in checked.diagnostics if d.code.startswith(("E04", "W04"))}
    assert not (binding_codes & {"W0401", "W0402"}), checked.diagnostics  # every case is knowable
    ran = _run_fn_program(source)
    if checked.ok:
        assert ran == "ok", f"checked clean but failed at run time: {ran}\n{source}"
    else:
        assert ran != "ok", f"rejected by check ({binding_codes}) but runs:\n{source}"


TEMPLATE_PIECES = st.sampled_from(
    ["{", "}", "{{", "}}", " ", "a", "b", "x", "_", "{a}", "{b}", "{ a }", "{a }", "{x}", "{}", "{1}", "\n", "{a.b}"]
)


@settings(max_examples=2000, deadline=None, derandomize=True, database=None)
@given(st.lists(TEMPLATE_PIECES, max_size=10).map("".join))
def test_templates_check_then_render(body: str) -> None:
    source = (
        'model m = "openai/fake"\ninput a: str\ninput b: str\n'
        f'llm ask(a: str, b: str) -> str using m {{ user: """{body} {{a}} {{b}}""" }}\n'
        "node n = ask(a, b)\noutput n\n"
    )
    result = compile_source(source, "t.adf")
    template_errors = [d for d in result.diagnostics if d.code in ("E0207", "E0208")]
    text = f"{body} {{a}} {{b}}"
    pieces = placeholders.scan(text)
    if result.plan is not None:
        (node,) = [n for n in result.plan.nodes if n.kind == "llm"]
        assert node.llm is not None
        values = {"a": "<A>", "b": "<B>"}
        (message,) = render_messages(node.llm, {}, values)
        assert all(p.kind != "malformed" for p in pieces)
        # every placeholder filled, every `{{`/`}}` one brace (a literal `{a}` written `{{a}}` stays)
        expected = "".join(values[p.value] if p.kind == "hole" else p.value for p in pieces)
        assert message.content == expected, f"the model got {message.content!r}, not {expected!r}"
    else:
        assert template_errors, result.diagnostics
        assert any(p.kind == "malformed" or (p.kind == "hole" and p.value not in "ab") for p in pieces)


OPTION_BASES = (*sorted(OPTIONS), "x_top_k", "x_safe_prompt")
OPTION_VALUES = (
    "0", "1", "2", "3", "-5", "40", "0.5", "1.5", "2.5", "-0.5", "1e3",
    '"0.5"', '"hot"', '"auto"', '"json_object"', '"high"', '"http://127.0.0.1:9/v1"',
    "true", "false", 'env("K")',
)
EDITS = ("none", "none", "none", "delete", "swap", "double", "vowel", "upper", "prefix", "unprefix")


@st.composite
def option_names(draw: st.DrawFn) -> str:
    """A name from the table or a provider extra, or one typing slip away from it."""
    name = draw(st.sampled_from(OPTION_BASES))
    edit = draw(st.sampled_from(EDITS))
    at = draw(st.integers(0, len(name) - 2))
    match edit:
        case "delete":
            name = name[:at] + name[at + 1 :]
        case "swap":
            name = name[:at] + name[at + 1] + name[at] + name[at + 2 :]
        case "double":
            name = name[:at] + name[at] + name[at:]
        case "vowel":
            name = name[:at] + draw(st.sampled_from("aeiou_")) + name[at + 1 :]
        case "upper":
            name = name.upper()
        case "prefix":
            name = "x_" + name
        case "unprefix":
            name = name.removeprefix("x_")
    return name if name and (name[0].isalpha() or name[0] == "_") else "o" + name


def _value(text: str) -> OptionValue:
    """What an option value means, read independently of the compiler."""
    if text.startswith("env("):
        return EnvRef(text[5:-2])
    if text.startswith('"'):
        return text[1:-1]
    if text in ("true", "false"):
        return text == "true"
    number = float(text)
    return int(text) if number.is_integer() and "." not in text and "e" not in text else number


def _fits(spec: OptionSpec, value: OptionValue) -> bool:
    """Whether the runtime can use `value` for `spec` as written (the oracle of the check)."""
    if isinstance(value, EnvRef):
        return spec.env != "never"
    if spec.env == "required":
        return False
    match spec.kind:
        case "bool":
            return isinstance(value, bool)
        case "text":
            return isinstance(value, str)
        case "choice":
            return value in spec.choices
        case "int" | "number":
            if isinstance(value, bool) or not isinstance(value, int | float):
                return False
            if spec.kind == "int" and not isinstance(value, int):
                return False
            return (spec.low is None or value >= spec.low) and (spec.high is None or value <= spec.high)
    return False


def _would_mis_send(entries: list[tuple[str, str]]) -> bool:
    """Whether the runtime, given these options unchecked, would send a typo, a mistyped value,
    or silently keep one of two values."""
    names = [name for name, _ in entries]
    if len(set(names)) < len(names):
        return True
    for name, text in entries:
        spec = OPTIONS.get(name)
        if spec is None and provider_name(name) is None:
            return True
        if spec is not None and not _fits(spec, _value(text)):
            return True
    return False


@settings(max_examples=2000, deadline=None, derandomize=True, database=None)
@given(st.lists(st.tuples(option_names(), st.sampled_from(OPTION_VALUES)), min_size=1, max_size=3))
def test_model_options_check_then_request(entries: list[tuple[str, str]]) -> None:
    options = ", ".join(f"{name}: {value}" for name, value in entries)
    source = (
        f'model m = "openai/fake" {{ {options} }}\ninput a: str\n'
        'llm ask(a: str) -> str using m { user: "{a}" }\nnode n = ask(a)\noutput n\n'
    )
    result = compile_source(source, "t.adf")
    if result.plan is None:
        codes = {d.code for d in result.diagnostics if d.is_error}
        assert codes <= {"E0212", "E0213"}, (source, result.diagnostics)
        assert _would_mis_send(entries), f"check rejected options the runtime sends as written: {source}"
        return
    assert not _would_mis_send(entries), f"check accepted options the runtime would mis-send: {source}"
    (decl,) = result.plan.models
    request = build_request(decl, (Message("user", "hi"),))
    extra = dict(request.extra)
    for name, value in decl.options:
        spec = OPTIONS.get(name)
        sent = provider_name(name) or name
        key, shown = (f"env.{sent}", value.name) if isinstance(value, EnvRef) else (sent, value)
        if spec is None or spec.reader == "client" or name not in ("temperature", "max_tokens", "api_base", "api_key", "context"):
            assert extra.get(key) == shown, (name, request)
        elif name == "temperature":
            assert request.temperature == float(value)  # type: ignore[arg-type]
        elif name == "max_tokens":
            assert request.max_tokens == value
        elif name == "api_key":
            assert request.api_key_env == shown
        elif name == "api_base" and not isinstance(value, EnvRef):  # an env() base is resolved with the model
            assert request.api_base == value
        elif name == "context":
            assert "context" not in extra  # adf's own fact, never sent


def test_whole_programs_on_the_fake_server() -> None:
    """fn and llm together, through litellm, for a spread of signatures."""
    from adf.llm.client import LiteLLMClient, RetryPolicy
    from adf.testing.fake_server import FakeServer

    def client() -> LiteLLMClient:
        return LiteLLMClient(retry=RetryPolicy(max_retries=2, base_s=0.01, max_delay_s=0.05), timeout_s=60.0)

    cases = list(itertools.islice(_spread(), 40))
    ran = 0
    with FakeServer(lambda request: "the reply") as server:
        for function, declared in cases:
            module, name = _write(function)
            args = ", ".join(f"{n}: str" for n in declared)
            source = (
                f'model m = "openai/fake" {{ api_base: "{server.base_url}" }}\n'
                + "".join(f"input {n}: str\n" for n in NAMES)
                + f'fn f({args}) -> str = py "{module}:{name}"\n'
                + 'llm ask(x: str) -> str using m { user: "Say {x}" }\n'
                + f"node n = f({', '.join(declared)})\nnode r = ask(n)\noutput r\n"
            )
            checked = compile_source(source, str(FOLDER / "t.adf"), base_dir=str(FOLDER))
            if not checked.ok:
                continue
            assert checked.plan is not None
            sample = Sample("s", tuple((n, "v") for n in NAMES), ())
            outcome = asyncio.run(run_sample(checked.plan, sample, client(), {}, bind(checked.plan, str(FOLDER))))
            assert outcome.error is None, (outcome.error, source)
            assert dict(outcome.outputs)["r"] == "the reply"
            ran += 1
    assert ran >= 12  # the spread holds both accepted and rejected signatures


def _spread() -> Any:
    for varargs, kwargs, kind, reached in itertools.product(
        (False, True), (False, True), ("normal", "kwonly", "posonly"), ("def", "alias", "reexport")
    ):
        params = (Param("a", kind, False), Param("b", "kwonly", True))
        yield PyFunction(params, varargs, kwargs, False, reached), ["a"]
