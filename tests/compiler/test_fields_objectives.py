"""Record field access (`verdict.label`) and objectives (`loss t = 0.7 * a + 0.3 * b`)."""

from __future__ import annotations

import msgpack
import pytest

from adf.plan import PlanError, decode_plan, encode_plan
from adf.plan.schema import Type
from adf.syntax.fmt import format_source

from .conftest import codes, compile_text
from .conftest import error_free_plan as plan_of

BASE = """model m = "local"
param judge_prompt: prompt = "Judge."
input claim: str
target label: enum{true, false}
target why: str
llm judge(claim: str) -> {label: enum{true, false}, reason: str, meta: {score: float}} using m {
  system: [judge_prompt]
  user: "{claim}"
}
fn echo(text: str) -> str = std.parse.strip
"""



def test_field_nodes_read_the_record_with_the_field_type() -> None:
    plan = plan_of(BASE + """node verdict = judge(claim)
node pred = verdict.label
node score = verdict.meta.score
node cleaned = echo(judge(claim).reason)
loss acc = std.loss.exact_match(pred, label)
output score
output cleaned
""")
    pred = plan.node("pred")
    assert (pred.kind, pred.field, pred.output_type) == ("field", "label", Type("enum", values=("true", "false")))
    assert [b.source for b in pred.inputs] == ["verdict"]
    score = plan.node("score")
    assert score.output_type == Type("float") and score.inputs[0].source == "score.0"
    assert plan.node("score.0").field == "meta"
    # a field of a nested call: the call is OWNER.0.0, its field OWNER.0
    assert plan.node("cleaned.0").field == "reason"
    assert plan.node("cleaned.0").inputs[0].source == "cleaned.0.0"
    assert decode_plan(encode_plan(plan)) == plan


def test_field_access_in_a_loop_is_stepped() -> None:
    plan = plan_of(BASE + """state notes: str = ""
loop hop in 0..2 {
  node v = judge(claim + notes)
  notes = notes + v.reason
}
output notes
""")
    assert [n.id for n in plan.nodes if n.kind == "field"] == ["notes.1@0", "notes.1@1"]


@pytest.mark.parametrize(
    ("expr", "code"),
    [
        ("verdict.lable", "E0230"),  # no such field
        ("verdict.label.x", "E0230"),  # an enum has no fields
        ("claim.x", "E0230"),  # nor has a str
        ("nothing.x", "E0102"),  # the name is reported, not the field
    ],
)
def test_bad_field_access(expr: str, code: str) -> None:
    assert codes(BASE + f"node verdict = judge(claim)\nnode pred = {expr}\noutput pred\n") == [code]


def test_unknown_field_suggests_the_close_one() -> None:
    result = compile_text(BASE + "node verdict = judge(claim)\nnode pred = verdict.lable\noutput pred\n")
    (d,) = result.diagnostics
    assert d.help == "did you mean `label`?" and "has no field `lable`" in d.message


def test_field_type_is_checked_downstream() -> None:
    text = BASE + "fn join(items: list[str]) -> str = std.text.join\nnode verdict = judge(claim)\nnode n = join(verdict.reason)\noutput n\n"
    assert codes(text) == ["E0201"]


def test_field_access_as_a_loss_argument_asks_for_a_node() -> None:
    assert codes(BASE + "node verdict = judge(claim)\nloss acc = std.loss.exact_match(verdict.label, label)\n") == ["E0214"]


OBJECTIVE = BASE + """node verdict = judge(claim)
node pred = verdict.label
node reason = verdict.reason
loss em = std.loss.exact_match(pred, label)
loss f1 = std.loss.f1(reason, why)
"""


def test_objective_in_the_plan() -> None:
    plan = plan_of(OBJECTIVE + "loss total = 0.7 * em + 0.3 * f1\n")
    (objective,) = plan.objectives
    assert objective.name == "total"
    assert [(t.loss, t.weight) for t in objective.terms] == [("em", 0.7), ("f1", 0.3)]
    assert [loss.name for loss in plan.losses] == ["em", "f1"]
    assert decode_plan(encode_plan(plan)) == plan


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("loss total = 0.7 * em + 0.7 * f1", ["E0231"]),
        ("loss total = 1.5 * em + -0.5 * f1", ["E0231"]),
        ("loss total = 0.5 * em + 0.5 * em", ["E0231"]),
        ("loss total = 0.5 * em + 0.5 * f2", ["E0102"]),
        ("loss total = 0.5 * em + 0.5 * pred", ["E0130"]),
        ("loss total = em", []),
    ],
)
def test_objective_checks(line: str, expected: list[str]) -> None:
    assert codes(OBJECTIVE + line + "\n") == expected


def test_weights_help_shows_them_scaled() -> None:
    result = compile_text(OBJECTIVE + "loss total = 3 * em + 1 * f1\n")
    (d,) = result.diagnostics
    assert d.message == "the weights of `total` add up to 4, not 1"
    assert d.help == "scale them: `loss total = 0.75 * em + 0.25 * f1`"


def test_an_old_plan_is_refused_with_a_recompile_hint() -> None:
    plan = plan_of(OBJECTIVE)
    raw = msgpack.unpackb(encode_plan(plan), raw=False)
    raw["format_version"] = 1
    with pytest.raises(PlanError, match="old format version 1; recompile it with `adfc compile`"):
        decode_plan(msgpack.packb(raw, use_bin_type=True))


def test_fmt_spaces_weights_and_keeps_fields_tight() -> None:
    text = "loss total=0.7*em+0.3 *  f1\nnode p = v . label\n"
    assert format_source(text) == ("loss total = 0.7 * em + 0.3 * f1\nnode p = v.label\n", ())
