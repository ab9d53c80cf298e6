"""Static check: can the optimizer prompt for each trainable prompt fit its model's context?

Takes a plan; gives one `OptimizerFit` per trainable `prompt` parameter: the
tokens the smallest useful optimizer prompt needs (the fixed wording, the
current value, its peers, one feedback item) plus the reply it must leave
room for, and the optimizer model's context window when known. `adfc check`
can turn `fits == False` into a warning before anything runs. Cheap to
import and to run: no model, no litellm.
"""

from __future__ import annotations

import attrs

from adf.optim.context import approx_tokens
from adf.optim.tgd import OptimizerInput, build_prompt
from adf.plan.schema import ModelDecl, Plan
from adf.runtime.feedback import Feedback
from adf.runtime.template import render_param

_SAMPLE_FEEDBACK = "The answer was wrong: the expected answer is 12. " * 3


@attrs.frozen
class OptimizerFit:
    param: str
    model: str
    needed: int  # prompt + reply tokens of the smallest useful optimizer call
    context: int | None

    @property
    def fits(self) -> bool:
        return self.context is None or self.needed <= self.context


def _optimizer_model(plan: Plan) -> ModelDecl | None:
    if plan.training is not None:
        return plan.model(plan.training.optimizer_model)
    for node in plan.nodes:
        if node.llm is not None:
            return plan.model(node.llm.model)
    return plan.models[0] if plan.models else None


def _declared_context(model: ModelDecl) -> int | None:
    value = dict(model.options).get("context")
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return 2048 if model.model in ("local", "openai/local") else None


def optimizer_fits(plan: Plan) -> list[OptimizerFit]:
    model = _optimizer_model(plan)
    if model is None:
        return []
    context = _declared_context(model)
    out = []
    for param in plan.params:
        if param.frozen or param.kind != "prompt":
            continue
        peers = []
        for node in plan.nodes:
            if node.llm is None:
                continue
            parts = (*node.llm.system, *node.llm.user)
            if any(p.kind == "param" and p.param == param.name for p in parts):
                for part in parts:
                    if part.kind == "param" and part.param != param.name:
                        decl = plan.param(part.param)
                        text = render_param(decl.value if decl.kind == "prompt" else decl.demos)
                        if text.strip() and (part.param, text) not in peers:
                            peers.append((part.param, text))
        feedback = (Feedback(param.name, "sample", "node", None, 0.0, _SAMPLE_FEEDBACK),)
        data = OptimizerInput(param.name, param.description, param.value, tuple(peers),
                              feedback, (), ())
        built = build_prompt(data, context_tokens=None, reply_tokens=0, json_mode=False)
        reply = max(3 * approx_tokens(param.value), 60) + 120
        out.append(OptimizerFit(param.name, model.name, built.tokens + reply, context))
    return out
