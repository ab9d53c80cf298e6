"""`adfc inspect FILE.plan`: print a compiled plan in readable form.

Takes a plan path; prints its models (environment references shown by
name, never resolved), training roles, params, inputs, targets, loops,
nodes in order with their bindings, losses and outputs; gives 0, or 2 with
one clear message for a missing, corrupt or newer-version plan.
"""

from __future__ import annotations

import argparse
import sys

from adf.plan.routing import guard_text


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("plan", metavar="FILE.plan", help="a plan written by `adfc compile`")


def execute(args: argparse.Namespace) -> int:
    from adf.plan.codec import PlanError, load_plan
    from adf.plan.schema import EnvRef, Plan

    try:
        plan: Plan = load_plan(args.plan)
    except PlanError as exc:
        print(f"adfc inspect: {exc}", file=sys.stderr)
        return 2

    def value(v: object) -> str:
        return f"env({v.name!r})" if isinstance(v, EnvRef) else repr(v)

    def options(opts: tuple[tuple[str, object], ...]) -> str:
        return "{" + ", ".join(f"{k}: {value(v)}" for k, v in opts) + "}" if opts else ""

    out = [
        f"plan {plan.source_name} (format {plan.format_version}, sha256 {plan.source_hash[:16]}...)",
        "",
        "models:",
    ]
    out += [f"  {m.name} = {m.model!r} {options(m.options)}".rstrip() for m in plan.models]
    if plan.training:
        t = plan.training
        out.append(
            f"training: backward={t.backward_model} optimizer={t.optimizer_model} teacher={t.teacher_model or '-'} {options(t.options)}".rstrip()
        )
    out.append("params:")
    for p in plan.params:
        flags = "frozen" if p.frozen else "trainable"
        if p.kind == "prompt":
            shown = p.value if len(p.value) <= 60 else p.value[:57] + "..."
            out.append(f"  {p.name}: prompt {flags} = {shown!r}")
        else:
            limit = f"(max: {p.max_demos})" if p.max_demos is not None else ""
            out.append(f"  {p.name}: demos{limit} {flags}, {len(p.demos)} example(s)")
        if p.description:
            out.append(f"      role: {p.description}")
    out.append("inputs:  " + ", ".join(f"{d.name}: {d.type} <- {d.field!r}" for d in plan.inputs))
    out.append("targets: " + ", ".join(f"{d.name}: {d.type} <- {d.field!r}" for d in plan.targets))
    for loop in plan.loops:
        until = f", until {loop.until}" if loop.until else ""
        inside = f" in each step of {loop.parent}" if loop.parent else ""
        out.append(f"loop {loop.name}: {loop.bound} steps{inside}{until}, body {', '.join(loop.body)}")
    out.append(f"nodes ({len(plan.nodes)}, in order):")
    for n in plan.nodes:
        args_text = ", ".join(f"{b.name}={b.source}" for b in n.inputs)
        if n.kind == "llm" and n.llm is not None:
            what = f"llm {n.llm.function}({args_text}) using {n.llm.model}"
            if n.llm.tools:  # `*`: a finish tool
                listed = ", ".join(t.name + ("*" if t.finish else "") for t in n.llm.tools)
                what += f" tools [{listed}]"
        elif n.kind == "fn" and n.fn is not None:
            what = f"fn {n.fn.ref}({args_text})"
        elif n.kind == "field":
            what = f"field {n.inputs[0].source}.{n.field}"
        elif n.kind == "select":
            what = f"select({args_text})"
        elif n.kind == "last":
            what = f"last run of ({args_text})"
        elif n.kind == "item":
            what = f"item {n.item} of {n.inputs[0].source}"
        elif n.kind == "map":
            what = f"map({args_text})"
        else:
            what = f"const {n.value_json}"
        when = "".join(guard_text(g) for g in n.when)
        out.append(f"  {n.id:<16} {what} -> {n.output_type}{when}   [{n.span.line}:{n.span.col}]")
    out.append("losses:")
    out += [
        f"  {loss.name} = {loss.metric}({loss.pred}, {loss.target}) {options(loss.options)}".rstrip()
        for loss in plan.losses
    ]
    out += [
        f"  {o.name} = " + " + ".join(f"{t.weight:g} * {t.loss}" for t in o.terms)
        for o in plan.objectives
    ]
    out.append("outputs: " + ", ".join(f"{o.name} <- {o.source}" for o in plan.outputs))
    print("\n".join(out))
    return 0
