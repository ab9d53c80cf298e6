"""Text and JSON views of runtime results for `adfc run`, `eval` and `backward`.

Takes `EvalResult`, `SampleResult`, `BackwardResult` and the run's
`adf.llm.usage.Usage`; gives printable summaries and JSON-ready dicts. No computation
happens here beyond counting: everything shown comes from the results.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from adf.cli._command import plural

if TYPE_CHECKING:
    from adf.llm.usage import Usage
    from adf.plan.schema import Plan
    from adf.runtime.backward import BackwardResult
    from adf.runtime.data import BadRow
    from adf.runtime.engine import EvalResult
    from adf.runtime.trace import NodeTrace, SampleResult


def usage_line(usage: Usage) -> str:
    cost = "unknown" if usage.cost_usd is None else f"${usage.cost_usd:.4f}"
    return "; ".join([
        f"calls {usage.calls} ({usage.cache_hits} cached, {usage.requests} provider requests)",
        f"tokens {usage.tokens:,} ({usage.prompt_tokens:,} prompt, "
        f"{usage.completion_tokens:,} completion)",
        f"cost {cost}",
        f"retries {usage.retries}",
        f"failed calls {usage.failures}",
    ])


def counts(result: EvalResult) -> dict[str, int]:
    """Samples by outcome; `call_failed` (a model call failed after its retries, so the
    sample is not scored) is part of `failed`."""
    correct = sum(1 for s in result.samples if s.error is None and s.score == 1.0)
    failed = len(result.errors())
    unscored = sum(1 for s in result.samples if s.score is None and s.error is None)
    wrong = len(result.samples) - correct - failed - unscored
    return {"samples": len(result.samples), "correct": correct, "wrong": wrong,
            "failed": failed, "call_failed": len(result.call_failed()), "unscored": unscored,
            "bad_rows": len(result.bad_rows)}


def print_eval(result: EvalResult, tally: Usage, *, file: str, data: str, show: int) -> None:
    numbers = counts(result)
    score = result.score
    print(f"{file} on {data}")
    line = "score " + ("n/a (nothing scored)" if score is None else f"{score:.4f}")
    losses = result.loss_scores()
    if len(losses) > 1:
        line += "  (" + ", ".join(f"{k} {v:.4f}" for k, v in losses.items()) + ")"
    print(line)
    pieces = [plural(numbers["samples"], "sample"), f"{numbers['correct']} correct",
              f"{numbers['wrong']} wrong", f"{numbers['failed']} failed"]
    if numbers["call_failed"]:
        pieces[-1] += (f" ({numbers['call_failed']} not scored: a model call failed after "
                       "its retries)")
    if numbers["unscored"]:
        pieces.append(f"{numbers['unscored']} unscored")
    if numbers["bad_rows"]:
        pieces.append(f"{plural(numbers['bad_rows'], 'bad row')} skipped")
    print(", ".join(pieces))
    print(usage_line(tally))
    print(f"time {result.wall_s:.1f} s")
    errors = result.errors()
    if errors:
        print(f"\nfailed samples ({len(errors)}):")
        for sample in errors[:show]:
            assert sample.error is not None
            where = f" at {sample.error.node}" if sample.error.node else ""
            print(f"  {sample.sample.id}{where}: {sample.error.message}")
        _more(len(errors), show)
    wrong = [s for s in result.samples if s.error is None and s.score is not None
             and s.score < 1.0]
    if wrong:
        print(f"\nwrong samples ({len(wrong)}):")
        for sample in wrong[:show]:
            message = " ".join(loss.message for loss in sample.losses if loss.score < 1.0)
            print(f"  {sample.sample.id}: {message}")
        _more(len(wrong), show)
    print_bad_rows(result.bad_rows, show)


def print_bad_rows(bad_rows: Sequence[BadRow], show: int) -> None:
    """The rows skipped as unusable, each with its file:line and reason."""
    if bad_rows:
        print(f"\nbad rows skipped ({len(bad_rows)}):")
        for bad in bad_rows[:show]:
            print(f"  {bad.where}: {bad.message}")
        _more(len(bad_rows), show)


def _more(total: int, shown: int) -> None:
    if total > shown:
        print(f"  ... and {total - shown} more (use --show N or --json)")


def eval_json(result: EvalResult, tally: Usage, *, file: str, data: str) -> dict[str, Any]:
    return {
        "file": file,
        "data": data,
        "score": result.score,
        "losses": result.loss_scores(),
        **counts(result),
        "usage": tally.to_json(),
        "wall_s": round(result.wall_s, 3),
        "bad_row_details": [{"where": b.where, "message": b.message} for b in result.bad_rows],
        "results": [sample_json(s, trace=False) for s in result.samples],
    }


def sample_json(sample: SampleResult, *, trace: bool) -> dict[str, Any]:
    error = sample.error
    data: dict[str, Any] = {
        "id": sample.sample.id,
        "where": sample.sample.where,
        "score": sample.score,
        "outputs": dict(sample.outputs),
        "error": None if error is None else {"kind": error.kind, "node": error.node,
                                             "message": error.message},
        "losses": [{"name": loss.name, "score": loss.score, "message": loss.message}
                   for loss in sample.losses],
    }
    if trace:
        data["trace"] = [t.to_json() for t in sample.nodes]
    return data


def print_sample(sample: SampleResult, *, verbose: bool) -> None:
    from adf.runtime.values import describe

    for name, value in sample.outputs:
        print(f"{name} = {describe(value)}")
    if sample.error is not None:
        where = f" at {sample.error.node}" if sample.error.node else ""
        print(f"error{where}: {sample.error.message}")
    for loss in sample.losses:
        print(f"loss {loss.name}: {loss.score:.2f}  {loss.message}")
    print("\ntrace:")
    for node in sample.nodes:
        print("  " + _node_line(node))
        if verbose and node.kind == "llm":
            for message in node.messages:
                print(f"    [{message.role}]")
                print(_indent(message.content, 6))
            if node.raw is not None:
                print("    [reply]")
                print(_indent(node.raw, 6))


def _node_line(node: NodeTrace) -> str:
    from adf.runtime.values import describe

    head = f"{node.node:<16} {node.kind:<5} {node.status:<7}"
    text = describe(node.value) if node.status == "ok" else node.error or ""
    call = node.call
    if call is not None:
        cached = ", cached" if call.cached else ""
        text += (f"  [{call.prompt_tokens}+{call.completion_tokens} tokens, "
                 f"{call.latency_s:.2f} s{cached}]")
    return f"{head} {text}"


def _indent(text: str, width: int) -> str:
    pad = " " * width
    return "\n".join(pad + line for line in text.splitlines()) or pad


def print_backward(plan: Plan, grads: BackwardResult, *, show: int) -> None:
    grouped = grads.by_param()
    print(f"backward: {plural(grads.samples, 'sample')} below {grads.threshold:g} walked, "
          f"{grads.passed} at or above it skipped; {plural(grads.calls, 'backward call')}")
    if grads.model_errors:
        print(f"  ({plural(grads.model_errors, 'sample')} failed on a model call: "
              "no feedback is possible for them)")
    for param in plan.params:
        role = "frozen" if param.frozen else "trainable"
        items = grouped.get(param.name, ())
        print(f"\n{param.name} ({param.kind}, {role}): {plural(len(items), 'feedback item')}")
        if param.frozen:
            print("  frozen parameters receive no feedback")
            continue
        if not items:
            print("  (none)")
        for item in items[:show]:
            step = f"@step {item.step}" if item.step is not None else ""
            print(f"  [{item.sample} · {item.node}{step} · score {item.score:.2f}]")
            print(_indent(item.text, 4))
        if len(items) > show:
            print(f"  ... and {len(items) - show} more (use --show N or --json)")
    if grads.failures:
        print(f"\nunusable backward replies ({len(grads.failures)}):")
        for failure in grads.failures[:show]:
            print(f"  {failure.sample} at {failure.node}: {failure.message}")


def backward_json(grads: BackwardResult) -> dict[str, Any]:
    return {
        "threshold": grads.threshold,
        "samples": grads.samples,
        "passed": grads.passed,
        "calls": grads.calls,
        "model_errors": grads.model_errors,
        "feedback": [
            {"param": f.param, "sample": f.sample, "node": f.node, "step": f.step,
             "score": f.score, "loss": f.loss, "text": f.text}
            for f in grads.feedback
        ],
        "failures": [{"sample": f.sample, "node": f.node, "message": f.message}
                     for f in grads.failures],
    }
