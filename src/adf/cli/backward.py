"""`adfc backward FILE --data PATH`: show the feedback each parameter would receive.

Takes a `.adf` or `.plan`, data (as for `adfc eval`) and a threshold; runs the
forward pass, then the textual backward pass on the samples scoring below the
threshold, and prints, for each parameter in declaration order, its feedback
with provenance (sample, node, time step, score); frozen parameters are shown
as receiving none. Nothing is changed: this is a debugging view of what the
optimizer would see. `--json` prints the feedback records as JSON.
"""

from __future__ import annotations

import argparse
import json

from adf.cli._command import (
    load,
    load_data,
    run_command,
    run_options,
)
from adf.cli._options import (
    add_data_arguments,
    add_model_arguments,
    add_show_argument,
    add_threshold_argument,
)
from adf.workflow import WorkflowError, bind_functions, open_workflow


def configure(parser: argparse.ArgumentParser) -> None:
    add_model_arguments(parser)
    add_data_arguments(parser)
    add_threshold_argument(parser, "walk samples scoring below SCORE (default 0.9)")
    parser.add_argument("--backward-model", default=None, metavar="NAME",
                        help="declared model to use as the backward engine "
                             "(default: the train block's, else each node's own)")
    add_show_argument(parser, "feedback items per parameter")
    parser.add_argument("--json", action="store_true", help="print the feedback as JSON")


def execute(args: argparse.Namespace) -> int:
    return run_command("backward", _backward(args))


async def _backward(args: argparse.Namespace) -> int:
    from adf.cli._report import backward_json, print_backward, print_bad_rows, usage_line
    from adf.runtime.engine import ModelUnavailable, backward, evaluate

    workflow = load(args.file, use_lock=not args.no_lock)
    if args.backward_model is not None and args.backward_model not in {
        m.name for m in workflow.plan.models
    }:
        known = ", ".join(m.name for m in workflow.plan.models)
        raise WorkflowError(f"--backward-model {args.backward_model!r} is not a declared model "
                       f"(declared: {known})", 2)
    dataset = load_data(workflow, args)
    bindings = bind_functions(workflow)
    async with open_workflow(workflow.plan, run_options(args)) as opened:
        client = opened.session.client
        try:
            result = await evaluate(opened.plan, dataset.samples, client, bindings=bindings,
                                    concurrency=args.concurrency)
            grads = await backward(opened.plan, result, client, threshold=args.threshold,
                                   concurrency=args.concurrency,
                                   backward_model=args.backward_model)
        except ModelUnavailable as exc:
            raise WorkflowError(f"model unavailable: {exc.reason}", 1) from None
        tally = opened.accounting.total
    if args.json:
        data = backward_json(grads)
        data["score"] = result.score
        data["usage"] = tally.to_json()
        data["bad_row_details"] = [{"where": b.where, "message": b.message}
                                   for b in dataset.bad_rows]
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        score = "n/a" if result.score is None else f"{result.score:.4f}"
        print(f"forward: {len(result.samples)} samples, score {score}")
        print_backward(opened.plan, grads, show=args.show)
        print_bad_rows(dataset.bad_rows, args.show)
        print("\n" + usage_line(tally))
    return 0
