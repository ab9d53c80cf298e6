"""The text optimizer (textual gradient descent): one proposal for one prompt parameter.

Takes the parameter (name, description, current value), its peers
(read-only), its feedback records, the history of earlier values with their
validation scores, this step's rejected proposals, and the optimizer model's
context window; gives the optimizer `ChatRequest` (built from the templates
in `adf/prompts/optimizer_*.txt`, fitted to the context by dropping whole
items by priority: worst samples and latest history are kept first) plus
the `Trim` records, and turns the model's reply into a `Proposal` or a
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
        patterns=(r"\[\d+\] example .{0,80}?, score \d", r"(?m)^- score \d\.\d\d: "),
    )


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


def _feedback_items(items: Sequence[Feedback]) -> tuple[str, ...]:
    out = []
    for number, (sample, score, records) in enumerate(group_feedback(items), start=1):
        lines = [f"[{number}] example {sample}, score {score:.2f}:"]
        for record in records:
            where = f" (call {record.node})" if record.step is not None else ""
            lines.append(f"  - {_one_line(record.text)}{where}")
        out.append("\n".join(lines))
    return tuple(out)


def build_prompt(
    data: OptimizerInput, *, context_tokens: int | None, reply_tokens: int, json_mode: bool
) -> BuiltPrompt:
    heads = _sections()
    peers = tuple(f"- {name}: {_one_line(value)}" for name, value in data.peers)
    feedback = _feedback_items(data.feedback)
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

    def render(kept: Mapping[str, tuple[str, ...]]) -> str:
        blocks = []
        for key, items in (("peers", kept["peers"]), ("feedback", kept["feedback"]),
                           ("history", tuple(reversed(kept["history"]))),
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
            "answer_format": answer_format,
        })

    empty: dict[str, tuple[str, ...]] = {"peers": (), "feedback": (), "history": (), "rejected": ()}
    fixed = bound_tokens(system) + bound_tokens(render(empty)) + 8
    fixed += sum(bound_tokens(heads.get(k, "")) for k in empty)
    budget = (context_tokens - reply_tokens) if context_tokens else 10**9
    fit = fit_sections(fixed, [
        Section("peers", peers),
        Section("feedback", feedback),
        Section("history", history_latest_first),
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
