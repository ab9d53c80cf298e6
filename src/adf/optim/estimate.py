"""A forecast of a training run's model calls, tokens and dollars, before spending anything.

Takes the plan, the training samples (to size typical prompts), the split
sizes and the trainer settings; gives an `Estimate`: calls and tokens by
role and phase, dollars where litellm knows every model's price, and the
assumptions used. It mirrors the trainer's phases: scoring validation and
test before training, each step's minibatch forward, backward calls on the
drawn failures, K optimizer calls per trainable prompt, each proposal's
minibatch check and, for the share that passes it, a validation pass; then
the final test. Nothing here calls a model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from adf.llm.catalogue import ROLES, estimate_tokens, price, reply_cap, role_model
from adf.optim.models import backward_calls, forward_calls
from adf.plan.schema import Plan
from adf.runtime.data import Sample
from adf.runtime.template import render_messages

# Assumptions (stated in the estimate): share of failing samples in a batch,
# share of proposals that pass the minibatch check, share of the validation
# set a gated proposal is scored on before it wins or stops early.
ERROR_RATE = 0.5
SCREEN_PASS = 0.5  # prompt proposals that survive the parser, leak guard and sanity filter
PASS_MINIBATCH = 0.3
VAL_SHARE = 0.7
REPLY_SHARE = 0.5  # of a node's max_tokens actually produced


@attrs.frozen
class Estimate:
    calls: int
    prompt_tokens: int
    completion_tokens: int
    usd: float | None
    by_role: dict[str, dict[str, int]]
    assumptions: tuple[str, ...]

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def to_json(self) -> dict[str, Any]:
        return {"calls": self.calls, "tokens": self.tokens, "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens, "usd": self.usd,
                "by_role": self.by_role, "assumptions": list(self.assumptions)}


def forward_tokens(plan: Plan, samples: Sequence[Sample]) -> tuple[int, int]:
    """Average (prompt, completion) tokens of one sample's forward pass."""
    values: dict[str, Any] = {p.name: p.value if p.kind == "prompt" else p.demos for p in plan.params}
    probe: list[Sample | None] = list(samples[:8])
    prompt_total = 0
    completion = 0
    for node in plan.nodes:
        if node.llm is None:
            continue
        model = plan.model(node.llm.model)
        completion += int(reply_cap(model) * REPLY_SHARE)
        sizes = []
        for sample in probe or [None]:
            known: dict[str, Any] = sample.values() if sample is not None else {}
            args = {b.name: known.get(b.source, "x" * 200) for b in node.inputs}
            messages = render_messages(node.llm, values, args)
            sizes.append(sum(estimate_tokens(m.content) + 4 for m in messages))
        prompt_total += sum(sizes) // len(sizes)
    return prompt_total, completion


def estimate_training(
    plan: Plan,
    train: Sequence[Sample],
    n_val: int,
    n_test: int,
    *,
    steps: int,
    batch_size: int,
    proposals: int,
    demo_proposals: int,
    max_errors: int,
    max_passed: int,
) -> Estimate:
    fwd = forward_calls(plan)
    bwd = backward_calls(plan)
    f_prompt, f_completion = forward_tokens(plan, train)
    per_call_prompt = f_prompt // max(1, fwd)
    batch = min(batch_size, max(1, len(train)))
    errors = min(max_errors, round(batch * ERROR_RATE + 0.49))
    passed = min(max_passed, 2 * errors, batch - errors)
    mini = errors + passed
    prompts = [p for p in plan.params if not p.frozen and p.kind == "prompt"]
    demo_params = [p for p in plan.params if not p.frozen and p.kind == "demos"]
    teacher_decl = role_model(plan, "teacher")
    node_models = {n.llm.model for n in plan.nodes if n.llm is not None}
    teacher = (teacher_decl is not None and bool(demo_params)
               and node_models != {teacher_decl.name})
    gated = len(prompts) * proposals * SCREEN_PASS + len(demo_params) * demo_proposals
    val_passes = gated * PASS_MINIBATCH * n_val * VAL_SHARE

    forward_samples = (n_val + 2 * n_test) + steps * (batch + mini * gated + val_passes)
    forward_samples += steps * errors * 0.5  # failures drawn from earlier steps, re-run
    roles = {
        "forward": round(forward_samples * fwd),
        "backward": steps * errors * bwd,
        "optimizer": steps * len(prompts) * proposals,
        "teacher": steps * errors * fwd if teacher else 0,
    }
    opt_prompt = 500 + sum(estimate_tokens(p.value) for p in prompts) * 4 // max(1, len(prompts))
    opt_completion = 40 + 2 * sum(estimate_tokens(p.value) for p in prompts) // max(1, len(prompts))
    tokens = {
        "forward": (roles["forward"] * per_call_prompt, round(forward_samples * f_completion)),
        "backward": (roles["backward"] * (per_call_prompt + 400), roles["backward"] * 80),
        "optimizer": (roles["optimizer"] * opt_prompt, roles["optimizer"] * opt_completion),
        "teacher": (roles["teacher"] * per_call_prompt, round(roles["teacher"] * f_completion / fwd)
                    if fwd else 0),
    }
    by_role = {r: {"calls": roles[r], "prompt_tokens": tokens[r][0],
                   "completion_tokens": tokens[r][1]} for r in roles}
    prompt_tokens = sum(t[0] for t in tokens.values())
    completion_tokens = sum(t[1] for t in tokens.values())
    return Estimate(
        calls=sum(roles.values()),
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        usd=_price(plan, by_role),
        by_role=by_role,
        assumptions=(
            f"{int(ERROR_RATE * 100)}% of each batch fails",
            f"{int(SCREEN_PASS * 100)}% of prompt proposals pass the cheap checks",
            f"{int(PASS_MINIBATCH * 100)}% of proposals pass the minibatch check and are "
            f"scored on ~{int(VAL_SHARE * 100)}% of validation",
            f"replies use ~{int(REPLY_SHARE * 100)}% of max_tokens",
            "cached replies count as calls",
        ),
    )


def _price(plan: Plan, by_role: dict[str, dict[str, int]]) -> float | None:
    forward = [plan.model(n.llm.model).model for n in plan.nodes if n.llm is not None]
    models = {"forward": forward}
    for role in ROLES:
        decl = role_model(plan, role)
        models[role] = [decl.model] if decl else forward
    total = 0.0
    for name, counts in by_role.items():
        if not counts["calls"]:
            continue
        names = models.get(name) or []
        known = price(names[0]) if names else None
        if known is None:
            return None
        total += known.of(counts["prompt_tokens"], counts["completion_tokens"])
    return round(total, 6)
