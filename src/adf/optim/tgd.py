"""The text optimizer (textual gradient descent): one proposal for one prompt parameter.

Takes an `OptimizerInput`: the parameter (name, guidance, current value), its
peers in the same prompt and the other prompts of the workflow (read-only),
its feedback records with a `SampleView` of each sample (input, the
workflow's answer, the expected answer), samples the current values get
right, the history of earlier values with their validation scores (seeded
with the initial value), this step's rejected proposals and the length
limit; and the optimizer model's context window. Gives the optimizer
messages (built from the templates in `adf/prompts/optimizer_*.txt`) as a
budgeted document: sections are filled by priority (failing samples with
their feedback, history, peers, other prompts, passing samples, rejected
proposals) and whole items are dropped to fit the context, each drop
recorded as a `Trim`. Turns the model's reply into a `Proposal` or a
`Rejection` (unparseable, leak, empty, unchanged, duplicate, too long)
before any evaluation is spent.

Feedback is grouped by sample, worst sample first; within a sample the
records keep their time order (loop step 0 before step 1).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

import attrs

from adf.llm.catalogue import bound_tokens
from adf.llm.protocol import Message
from adf.optim.context import Section, Trim, fit_sections
from adf.optim.guard import MetaText, Rejection, RejectionKind, screen
from adf.optim.proposal import PLACEHOLDER, PROPOSAL_SCHEMA, ParseFailure, Proposal, parse_proposal
from adf.prompts import load
from adf.runtime.feedback import Feedback
from adf.runtime.template import fill

_SECTION_HEAD = re.compile(r"^\[([a-z_]+)\]\s*$")


@attrs.frozen
class HistoryEntry:
    value: str
    val_score: float
    step: int


@attrs.frozen
class RejectedProposal:
    value: str
    reason: str


@attrs.frozen
class SampleView:
    """What the optimizer is shown of one sample: its input, answer and expected answer."""

    id: str
    score: float
    input: str
    output: str
    expected: str


@attrs.frozen
class OptimizerInput:
    name: str
    description: str
    value: str
    peers: tuple[tuple[str, str], ...]
    feedback: tuple[Feedback, ...]
    history: tuple[HistoryEntry, ...]  # oldest first
    rejected: tuple[RejectedProposal, ...]
    steps_without_gain: int = 0
    failed_attempts: tuple[str, ...] = ()  # why earlier replies this step had no usable value
    samples: tuple[SampleView, ...] = ()  # views of the samples the feedback is about
    passing: tuple[SampleView, ...] = ()  # samples the current values get right
    others: tuple[tuple[str, str], ...] = ()  # trainable prompts of other nodes
    max_tokens: int | None = None  # the longest value the task model can take


@attrs.frozen
class BuiltPrompt:
    messages: tuple[Message, ...]
    trims: tuple[Trim, ...]
    tokens: int
    fits: bool


def _sections() -> dict[str, str]:
    heads: dict[str, str] = {}
    current = ""
    for line in load("optimizer_sections").splitlines():
        match = _SECTION_HEAD.match(line)
        if match:
            current = match.group(1)
            heads[current] = ""
        elif current:
            heads[current] = (heads[current] + "\n" + line).strip("\n")
    return heads


def meta_text() -> MetaText:
    """The optimizer prompts' fixed wording, for the leak guard."""
    fragments = [load("optimizer_system"), load("optimizer_format_tags"),
                 load("optimizer_format_json")]
    fragments += _template_fragments(load("optimizer_user"))
    fragments += [_strip_slots(head) for head in _sections().values()]
    fragments.append(PLACEHOLDER)
    return MetaText(
        tuple(f for f in fragments if f.strip()),
        markers=("<current>", "</current>"),
        patterns=(r"example \S{1,80}, score \d\.\d\d", r"(?m)^- score \d\.\d\d: "),
        vocabulary=META_WORDS,
    )


# Words that mark a phrase of the optimizer templates as the optimizer's own (a leak), as
# opposed to wording any prompt may use.
META_WORDS = frozenset({
    "feedback", "reviewer", "score", "scores", "example", "examples", "validation", "version",
    "versions", "proposal", "proposed", "rejected", "improvement", "optimizer", "tried",
    "training", "failures", "part", "parts", "workflow",
})

_CLEARED = re.compile(r"\b(not at fault|no change (is )?needed|nothing to change|is not to blame)\b",
                      re.I)


def is_cleared(text: str) -> bool:
    """Feedback that only clears the parameter ("not at fault"): no reason to call the optimizer."""
    return bool(_CLEARED.search(text)) and len(text.split()) <= 12


def _strip_slots(text: str) -> str:
    return re.sub(r"\{[a-z_]+\}", "\n", text)


def _template_fragments(template: str) -> list[str]:
    return [part for part in _strip_slots(template).split("\n") if part.strip()]


def group_feedback(items: Sequence[Feedback]) -> list[tuple[str, float, list[Feedback]]]:
    """(sample, score, records in time order), worst sample first, ties in first-seen order."""
    groups: dict[str, list[Feedback]] = {}
    for item in items:
        groups.setdefault(item.sample, []).append(item)
    ordered = []
    for position, (sample, records) in enumerate(groups.items()):
        records = sorted(records, key=lambda f: (f.node_index, f.step if f.step is not None else -1))
        ordered.append((min(r.score for r in records), position, sample, records))
    ordered.sort(key=lambda g: (g[0], g[1]))
    return [(sample, score, records) for score, _, sample, records in ordered]


def _one_line(text: str) -> str:
    return text.strip().replace("\n", "\n  ")


def _clip(text: str, limit: int = 600) -> str:
    text = _one_line(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _view_lines(view: SampleView | None) -> list[str]:
    if view is None:
        return []
    return [f"  input: {_clip(view.input)}", f"  answer: {_clip(view.output)}",
            f"  expected: {_clip(view.expected)}"]


def _feedback_items(items: Sequence[Feedback], views: Sequence[SampleView] = ()) -> tuple[str, ...]:
    by_id = {v.id: v for v in views}
    out = []
    for number, (sample, score, records) in enumerate(group_feedback(items), start=1):
        lines = [f"[{number}] example {sample}, score {score:.2f}:", *_view_lines(by_id.get(sample))]
        for record in records:
            where = f" (call {record.node})" if record.step is not None else ""
            if record.item is not None:  # one of a `map`'s items: all listed under its sample
                where = f" (item {record.item}, call {record.node})"
            lines.append(f"  - {_one_line(record.text)}{where}")
        out.append("\n".join(lines))
    return tuple(out)


def build_prompt(
    data: OptimizerInput, *, context_tokens: int | None, reply_tokens: int, json_mode: bool
) -> BuiltPrompt:
    heads = _sections()
    peers = tuple(f"- {name}: {_one_line(value)}" for name, value in data.peers)
    others = tuple(f"- {name}: {_one_line(value)}" for name, value in data.others)
    feedback = _feedback_items(data.feedback, data.samples)
    passing = tuple("\n".join([f"- example {v.id}, score {v.score:.2f}:", *_view_lines(v)])
                    for v in data.passing)
    history_latest_first = tuple(
        f"- score {h.val_score:.2f}: {_one_line(h.value)}" for h in reversed(data.history)
    )
    rejected = tuple(f"- {_one_line(r.value)} ({r.reason})" for r in data.rejected)
    description = f" ({data.description})" if data.description else ""
    answer_format = load("optimizer_format_json" if json_mode else "optimizer_format_tags")
    stagnation = ""
    if data.steps_without_gain >= 2 and "stagnation" in heads:
        stagnation = fill(heads["stagnation"], {"steps": str(data.steps_without_gain)})
    system = load("optimizer_system")

    constraints = ""
    if data.max_tokens is not None:
        constraints = f"Keep it under about {data.max_tokens} tokens. "

    def render(kept: Mapping[str, tuple[str, ...]]) -> str:
        blocks = []
        for key, items in (("feedback", kept["feedback"]), ("passing", kept["passing"]),
                           ("history", tuple(reversed(kept["history"]))),
                           ("peers", kept["peers"]), ("others", kept["others"]),
                           ("rejected", kept["rejected"])):
            if items:
                blocks.append(heads.get(key, key.upper() + ":") + "\n" + "\n".join(items))
        if stagnation:
            blocks.append(stagnation)
        if data.failed_attempts and "retry" in heads:
            # a new prompt for each retry: at temperature 0 the same prompt gives the same reply
            blocks.append(fill(heads["retry"], {"count": str(len(data.failed_attempts)),
                                                "reason": data.failed_attempts[-1]}))
        sections = "\n\n".join(blocks)
        return fill(load("optimizer_user"), {
            "name": data.name, "description": description, "value": data.value,
            "sections": "\n" + sections + "\n" if sections else "",
            "answer_format": answer_format, "constraints": constraints,
        })

    empty: dict[str, tuple[str, ...]] = {"peers": (), "feedback": (), "history": (),
                                         "rejected": (), "others": (), "passing": ()}
    fixed = bound_tokens(system) + bound_tokens(render(empty)) + 8
    fixed += sum(bound_tokens(heads.get(k, "")) for k in empty)
    budget = (context_tokens - reply_tokens) if context_tokens else 10**9
    fit = fit_sections(fixed, [
        Section("feedback", feedback),
        Section("history", history_latest_first),
        Section("peers", peers),
        Section("others", others),
        Section("passing", passing),
        Section("rejected", rejected),
    ], budget)
    user = render(fit.kept)
    messages = (Message("system", system), Message("user", user))
    return BuiltPrompt(messages, fit.trims, fit.tokens, fit.fits)


def schema_text() -> str:
    return json.dumps(PROPOSAL_SCHEMA, sort_keys=True, separators=(",", ":"))


@attrs.frozen
class Verdict:
    proposal: Proposal | None
    rejection: Rejection | None
    parse_error: ParseFailure | None = None


def judge_reply(
    reply_text: str,
    data: OptimizerInput,
    *,
    seen: Sequence[str],
    max_tokens: int | None,
) -> Verdict:
    """Parse the reply and screen the proposal; nothing here costs a model call."""
    parsed = parse_proposal(reply_text)
    if isinstance(parsed, ParseFailure):
        kind: RejectionKind = "truncated" if parsed.truncated else "unparseable"
        return Verdict(None, Rejection(kind, parsed.reason), parsed)
    allowed = [value for _, value in data.peers] + [h.value for h in data.history]
    rejection = screen(
        parsed.value,
        current=data.value,
        meta=meta_text(),
        allowed=allowed,
        seen=seen,
        max_tokens=max_tokens,
    )
    return Verdict(parsed, rejection)
