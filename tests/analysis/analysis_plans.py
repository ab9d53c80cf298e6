"""Build `Plan` objects by hand for analysis tests, one declaration per line.

Each declaration gets its own source line (in call order), recorded in
`lines`, so tests can check which span a diagnostic points at without an
`.adf` file.
"""

from __future__ import annotations

import attrs

from adf.diagnostics import Span
from adf.plan.schema import (
    Binding,
    DataDecl,
    Demo,
    FnSpec,
    FunctionDecl,
    LlmSpec,
    LoopInfo,
    Loss,
    ModelDecl,
    Node,
    OptionValue,
    Output,
    ParamDecl,
    Plan,
    TemplatePart,
    Training,
    Type,
)


def parse_type(text: str) -> Type:
    if text.startswith("list[") and text.endswith("]"):
        return Type("list", of=parse_type(text[5:-1]))
    if text.startswith("enum{"):
        return Type("enum", values=tuple(v.strip() for v in text[5:-1].split(",")))
    assert text in ("str", "int", "float", "bool", "any"), text
    return Type(text)  # type: ignore[arg-type]


@attrs.define
class PlanBuilder:
    models: list[ModelDecl] = attrs.Factory(list)
    params: list[ParamDecl] = attrs.Factory(list)
    inputs: list[DataDecl] = attrs.Factory(list)
    targets: list[DataDecl] = attrs.Factory(list)
    functions: list[FunctionDecl] = attrs.Factory(list)
    loops: list[LoopInfo] = attrs.Factory(list)
    nodes: list[Node] = attrs.Factory(list)
    losses: list[Loss] = attrs.Factory(list)
    outputs: list[Output] = attrs.Factory(list)
    training: Training | None = None
    lines: dict[str, int] = attrs.Factory(dict)
    _line: int = 0

    def span(self, key: str) -> Span:
        if key not in self.lines:
            self._line += 1
            self.lines[key] = self._line
        line = self.lines[key]
        return Span(line, 1, line, 10)

    def model(self, name: str, model: str = "openai/gpt-4o-mini", **options: OptionValue) -> PlanBuilder:
        self.models.append(ModelDecl(name, model, tuple(options.items()), self.span(name)))
        return self

    def param(self, name: str, value: str = "Be precise.", *, frozen: bool = False,
              demos: int | None = None, current: tuple[Demo, ...] = ()) -> PlanBuilder:
        kind = "demos" if demos is not None else "prompt"
        self.params.append(ParamDecl(name, kind, value if demos is None else "", current, frozen,
                                     "", demos, self.span(name), None))
        return self

    def input(self, name: str, type_: str = "str", field: str | None = None) -> PlanBuilder:
        self.inputs.append(DataDecl(name, parse_type(type_), field or name, self.span(name)))
        return self

    def target(self, name: str, type_: str = "str", field: str | None = None) -> PlanBuilder:
        self.targets.append(DataDecl(name, parse_type(type_), field or name, self.span(name)))
        return self

    def llm_decl(self, name: str) -> PlanBuilder:
        self.functions.append(FunctionDecl(name, "llm", self.span("llm " + name)))
        return self

    def fn_decl(self, name: str) -> PlanBuilder:
        self.functions.append(FunctionDecl(name, "fn", self.span("fn " + name)))
        return self

    def llm(self, node_id: str, function: str, args: dict[str, str], *, params: tuple[str, ...] = (),
            user: str | None = None, model: str = "m", out: str = "str",
            loop: str | None = None, step: int | None = None, name: str | None = None) -> PlanBuilder:
        if not any(f.name == function for f in self.functions):
            self.llm_decl(function)
        text = user if user is not None else " ".join("{" + a + "}" for a in args)
        spec = LlmSpec(function, model, tuple(TemplatePart("param", param=p) for p in params),
                       (TemplatePart("text", text=text),))
        base = name or node_id.split("@")[0]
        self.nodes.append(Node(node_id, "llm", base, step, loop,
                               tuple(Binding(k, v) for k, v in args.items()), parse_type(out),
                               self.span(base), llm=spec))
        return self

    def fn(self, node_id: str, function: str, args: dict[str, str], *, ref: str = "std.parse.strip",
           out: str = "str", loop: str | None = None, step: int | None = None,
           name: str | None = None, span_key: str | None = None) -> PlanBuilder:
        if not any(f.name == function for f in self.functions):
            self.fn_decl(function)
        base = name or node_id.split("@")[0]
        self.nodes.append(Node(node_id, "fn", base, step, loop,
                               tuple(Binding(k, v) for k, v in args.items()), parse_type(out),
                               self.span(span_key or base), fn=FnSpec(function, ref)))
        return self

    def const(self, node_id: str, value_json: str = "[]", out: str = "list[str]") -> PlanBuilder:
        self.nodes.append(Node(node_id, "const", node_id, None, None, (), parse_type(out),
                               self.span(node_id), value_json=value_json))
        return self

    def loop(self, name: str, bound: int, body: tuple[str, ...]) -> PlanBuilder:
        self.loops.append(LoopInfo(name, bound, body, self.span("loop " + name)))
        return self

    def loss(self, name: str, pred: str, target: str, metric: str = "std.loss.exact_match") -> PlanBuilder:
        self.losses.append(Loss(name, metric, pred, target, (), self.span("loss " + name)))
        return self

    def output(self, name: str, source: str | None = None) -> PlanBuilder:
        self.outputs.append(Output(name, source or name, self.span("output " + name)))
        return self

    def train(self, backward: str, optimizer: str, teacher: str | None = None) -> PlanBuilder:
        self.training = Training(backward, optimizer, teacher)
        return self

    def build(self) -> Plan:
        return Plan(
            format_version=1,
            source_name="test.adf",
            source_hash="0" * 64,
            models=tuple(self.models),
            params=tuple(self.params),
            inputs=tuple(self.inputs),
            targets=tuple(self.targets),
            functions=tuple(self.functions),
            loops=tuple(self.loops),
            nodes=tuple(self.nodes),
            losses=tuple(self.losses),
            outputs=tuple(self.outputs),
            training=self.training,
        )


def counting() -> PlanBuilder:
    """The object-counting workflow: one llm, one parser, one loss; everything used."""
    return (
        PlanBuilder()
        .model("m", "local", max_tokens=256)
        .param("instruction", "Answer the counting question. Think step by step.")
        .param("answer_format", "Finish with: Answer: <integer>", frozen=True)
        .input("question")
        .target("answer", "int")
        .llm("reply", "solve", {"question": "question"}, params=("instruction", "answer_format"),
             user="Question: {question}")
        .fn("pred", "last_int", {"text": "reply"}, ref="std.parse.last_int", out="int")
        .loss("acc", "pred", "answer")
        .output("pred")
    )
