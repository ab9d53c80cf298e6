"""A scripted credit-assignment task: cue phrases spread over parameters and nodes.

Takes nothing; gives two workflows (`one`: one llm node reading the prompt
parameters `instruction` and `style`; `two`: a `notes` node reading `reader`
feeding a `solve` node reading `instruction`), their data, and a responder
that plays the task model, the backward engine and the optimizer. The same
responder serves the fake OpenAI server (tests) and an in-process client
(`ScriptedClient`, the benchmark), so every figure comes from real training
code.

A third workflow, `trap`, is the `one` workflow with a shortcut: the cue
`GUESS QUICKLY` in `style` makes the `quick` samples right but, while it is
there, no sample that needs a cue of `instruction` can be right. The
reviews never say so (they name the missing cue, as everywhere), so a path
that takes the shortcut first stays on it: the greedy gate has no way back.

The task model is right on a sample only when every cue phrase its kind
needs is in the parameter that owns that cue (a `notes` node lists each of
its cues as `ok:` or `missed:`, and the solver fails on any `missed:`).
The backward engine names a missing cue only for the parameter that lacks
it ("Add the phrase 'X' to this part."), says "not at fault" otherwise, and
names a harmful phrase to remove when it sees one. With `wrong > 0` a
fraction of its reviews (chosen by a hash of the request, so runs repeat)
advise adding the harmful phrase instead. The optimizer adds every phrase
its prompt tells it to add to the part it improves and removes every phrase
it is told to remove, and nothing else: only feedback that reaches the
right parameter improves the score.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from adf.llm.protocol import ChatReply, ChatRequest
from adf.testing.fake_server import Request, estimate_tokens, last_user, system_text

HARM = "SKIP CHECKS"
NOT_AT_FAULT = "This part is not at fault."

_ADD = re.compile(r"Add the phrase '([A-Z ]+)'")
_REMOVE = re.compile(r"Remove the phrase '([A-Z ]+)'")
_KIND = re.compile(r"\[([a-z+]+)\] case ")
_KEYS = re.compile(r"exactly these keys: (.*)")
_PART = re.compile(r"PART TO IMPROVE: ([A-Za-z_][A-Za-z0-9_]*)")
_CURRENT = re.compile(r"<current>\n(.*?)\n</current>", re.S)
_TARGET = re.compile(r'- "([^"]+)": the (prompt part|input) `([^`]+)`[^\n]*\n<<<\n(.*?)\n>>>', re.S)


@attrs.frozen
class Workflow:
    name: str
    source: str
    owner: Mapping[str, str]  # cue -> parameter that must hold it
    kinds: Mapping[str, tuple[str, ...]]  # kind -> cues it needs ("hard": never right)
    mix: tuple[tuple[str, int], ...]  # kind -> count per 16 samples
    shortcut: str = ""  # a cue that, while present, blocks every cue of another parameter


_MODEL = '''model m = "openai/fake" {{ api_base: "{base}", temperature: 0 }}
train {{ backward: m, optimizer: m }}
input question: str
target answer: str
'''

ONE = Workflow(
    "one",
    _MODEL + '''
param instruction: prompt "how to work out the answer" = "Answer the question."
param style: prompt "how to write the answer" = "Be brief."
llm solve(question: str) -> str using m {{
  system: [instruction, style]
  user: "Question: {{question}}"
}}
node reply = solve(question)
loss acc = std.loss.exact_match(reply, answer)
output reply
''',
    {"CHECK UNITS": "instruction", "SHOW STEPS": "instruction",
     "USE DIGITS": "style", "END WITH ANSWER": "style"},
    {"plain": (), "units": ("CHECK UNITS",), "digits": ("USE DIGITS",),
     "final": ("END WITH ANSWER",),
     "units+digits": ("CHECK UNITS", "USE DIGITS"),
     "steps+final": ("SHOW STEPS", "END WITH ANSWER"),
     "units+final": ("CHECK UNITS", "END WITH ANSWER"),
     "steps+digits": ("SHOW STEPS", "USE DIGITS"), "hard": ("IMPOSSIBLE",)},
    (("plain", 2), ("units+digits", 3), ("steps+final", 3), ("units+final", 2),
     ("steps+digits", 2), ("units", 1), ("digits", 1), ("final", 1), ("hard", 1)),
)

TWO = Workflow(
    "two",
    _MODEL + '''
param reader: prompt "what to note about the question" = "Read the question."
param instruction: prompt "how to work out the answer from the notes" = "Answer the question."
llm take_notes(question: str) -> str using m {{
  system: [reader]
  user: "Question: {{question}}"
}}
llm solve(question: str, notes: str) -> str using m {{
  system: [instruction]
  user: "Question: {{question}}\\nNotes: {{notes}}"
}}
node notes = take_notes(question)
node reply = solve(question, notes)
loss acc = std.loss.exact_match(reply, answer)
output reply
''',
    {"LIST QUANTITIES": "reader", "NOTE NEGATIONS": "reader",
     "CHECK UNITS": "instruction", "SHOW STEPS": "instruction"},
    {"plain": (), "quantities": ("LIST QUANTITIES",), "units": ("CHECK UNITS",),
     "steps": ("SHOW STEPS",),
     "quantities+units": ("LIST QUANTITIES", "CHECK UNITS"),
     "negations+steps": ("NOTE NEGATIONS", "SHOW STEPS"),
     "quantities+steps": ("LIST QUANTITIES", "SHOW STEPS"),
     "negations+units": ("NOTE NEGATIONS", "CHECK UNITS"), "hard": ("IMPOSSIBLE",)},
    (("plain", 2), ("quantities+units", 3), ("negations+steps", 3), ("quantities+steps", 2),
     ("negations+units", 2), ("units", 1), ("steps", 1), ("quantities", 1), ("hard", 1)),
)

TRAP = Workflow(
    "trap",
    ONE.source,
    {"CHECK UNITS": "instruction", "SHOW STEPS": "instruction", "USE DIGITS": "instruction",
     "GUESS QUICKLY": "style"},
    {"plain": (), "quick": ("GUESS QUICKLY",), "units": ("CHECK UNITS",),
     "steps": ("SHOW STEPS",), "digits": ("USE DIGITS",), "hard": ("IMPOSSIBLE",)},
    (("plain", 2), ("quick", 4), ("units", 3), ("steps", 3), ("digits", 3), ("hard", 1)),
    shortcut="GUESS QUICKLY",
)

WORKFLOWS = {w.name: w for w in (ONE, TWO, TRAP)}


def rows(workflow: Workflow, split: str, repeats: int = 1) -> list[dict[str, Any]]:
    """`repeats` x 16 samples in the workflow's kind mix, interleaved."""
    kinds = [kind for kind, count in workflow.mix for _ in range(count)]
    out = []
    for r in range(repeats):
        for i, kind in enumerate(kinds):
            n = r * len(kinds) + i
            out.append({"id": f"{split}{n}", "question": f"[{kind}] case {split}{n}",
                        "answer": "right"})
    return out


def ceiling(workflow: Workflow) -> float:
    """The best validation score any values reach (with a shortcut: the path without it)."""
    total = sum(count for _, count in workflow.mix)
    return sum(count for kind, count in workflow.mix
               if kind != "hard" and workflow.shortcut not in workflow.kinds[kind]) / total


def cues_found(workflow: Workflow, values: Mapping[str, object]) -> int:
    """The cues in place (a shortcut is not one to find)."""
    return sum(1 for cue, param in workflow.owner.items()
               if cue != workflow.shortcut and cue in str(values.get(param, "")))


def cue_count(workflow: Workflow) -> int:
    return sum(1 for cue in workflow.owner if cue != workflow.shortcut)


# --- the scripted model -----------------------------------------------------------


def _kind(text: str) -> str:
    match = _KIND.search(text)
    return match.group(1) if match else "plain"


def _unlucky(request: Request, rate: float) -> bool:
    if rate <= 0:
        return False
    digest = hashlib.sha256(json.dumps(request.get("messages"), sort_keys=True).encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < rate


def _forward(workflow: Workflow, request: Request) -> str:
    system, user = system_text(request), last_user(request)
    kind = _kind(user)
    needs = workflow.kinds[kind]
    if "IMPOSSIBLE" in needs:
        return "wrong"
    if "reader" in workflow.owner.values() and "Notes:" not in user:  # the notes node
        if HARM in system and kind == "plain":
            return "notes: garbled"
        listed = [("ok:" if c in system else "missed:") + c
                  for c in needs if workflow.owner[c] == "reader"]
        return "notes: " + (" ".join(listed) or "nothing special")
    if "missed:" in user or "garbled" in user or (HARM in system and kind == "plain"):
        return "wrong"
    own = [c for c in needs if workflow.owner[c] != "reader"]
    shortcut = workflow.shortcut
    if shortcut and shortcut in system and any(
            workflow.owner[c] != workflow.owner[shortcut] for c in own):
        return "wrong"  # the shortcut skips the work the other parameter's cues ask for
    return "right" if all(c in system for c in own) else "wrong"


def _backward(workflow: Workflow, request: Request, wrong: float) -> str:
    user = last_user(request)
    match = _KEYS.search(user)
    keys = [json.loads(k) for k in match.group(1).split(", ")] if match else []
    shown = user.split("## Its answer", 1)[0]
    needs = workflow.kinds[_kind(shown)]
    feedback = user.split("## Feedback on the result", 1)[-1].split("## The parts", 1)[0]
    targets = {m.group(1): (m.group(2), m.group(3), m.group(4)) for m in _TARGET.finditer(user)}
    out: dict[str, str] = {}
    for key in keys:
        role, name, value = targets.get(key, ("prompt part", key, ""))
        if role == "input":
            missed = re.findall(r"missed:([A-Z ]+?)(?= ok:| missed:|$)", value)
            said = " ".join(f"The notes missed '{c}'." for c in missed)
            if "garbled" in value:
                said = "The notes are garbled."
            out[key] = said or "The input is not at fault."
            continue
        if HARM in value:
            out[key] = f"Remove the phrase '{HARM}' from this part."
            continue
        if name == "reader":
            wanted = re.findall(r"missed '([A-Z ]+)'", feedback)
        else:
            wanted = [c for c in needs if workflow.owner.get(c) == name]
        missing = [c for c in wanted if c not in value]
        if missing and _unlucky(request, wrong):
            out[key] = f"Add the phrase '{HARM}' to this part."
        elif missing:
            out[key] = " ".join(f"Add the phrase '{c}' to this part." for c in missing)
        else:
            out[key] = NOT_AT_FAULT
    return json.dumps(out)


def _optimizer(request: Request) -> str:
    user = last_user(request)
    current_match = _CURRENT.search(user)
    current = current_match.group(1) if current_match else ""
    value = current
    for cue in dict.fromkeys(_ADD.findall(user)):
        if cue not in value:
            value = f"{value.rstrip()} {cue}."
    for cue in dict.fromkeys(_REMOVE.findall(user)):
        value = " ".join(value.replace(f"{cue}.", "").replace(cue, "").split())
    if value == current:
        value = current.rstrip() + " Be exact." if "Be exact." not in current else current
    if request.get("response_format"):
        return json.dumps({"reasoning": "Apply the feedback.", "proposed_value": value})
    return f"<reasoning>Apply the feedback.</reasoning>\n<proposed_value>{value}</proposed_value>"


def is_backward(request: Request) -> bool:
    return system_text(request).startswith("You review one step")


def is_optimizer(request: Request) -> bool:
    return "PART TO IMPROVE:" in last_user(request)


def responder(workflow: Workflow, *, wrong: float = 0.0) -> Callable[[Request], str]:
    def respond(request: Request) -> str:
        if is_backward(request):
            return _backward(workflow, request, wrong)
        if is_optimizer(request):
            return _optimizer(request)
        return _forward(workflow, request)

    return respond


class ScriptedClient:
    """A `ModelClient` answering in-process with a responder; tokens counted like the fake server."""

    def __init__(self, respond: Callable[[Request], str]) -> None:
        self.respond = respond
        self.calls: dict[str, int] = {}
        self.tokens: dict[str, int] = {}

    async def complete(self, request: ChatRequest) -> ChatReply:
        body: Request = {"model": request.model,
                         "messages": [{"role": m.role, "content": m.content}
                                      for m in request.messages]}
        if request.json_schema:
            body["response_format"] = {"type": "json_schema"}
        text = self.respond(body)
        prompt = sum(estimate_tokens(m.content) for m in request.messages)
        done = estimate_tokens(text)
        self.calls[request.purpose] = self.calls.get(request.purpose, 0) + 1
        self.tokens[request.purpose] = self.tokens.get(request.purpose, 0) + prompt + done
        return ChatReply(text, prompt, done, 0.0, False, 0.0,
                         structured="schema" if request.json_schema else "none")
