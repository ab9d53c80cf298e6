"""The training report: `report.json` and a self-contained `report.html`.

Takes the report mapping the trainer builds (JSON-able: settings, per-step
scores and counts, proposals with their verdicts, parameters before and
after, usage, estimate); gives the two files in the run folder. The HTML
page has no external resources: inline CSS, inline SVG line charts of the
scores and of the calls/tokens per step, and word-level diffs of every
accepted change and of each parameter's first and final values.

`deterministic_view` drops the fields that legitimately differ between two
runs with the same seed (wall times, cache hits, dollars actually paid, the
forecast, which learns from the cache and the steps already run), so
tests can compare an interrupted-and-resumed run with an uninterrupted one.
"""

from __future__ import annotations

import difflib
import html
import json
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

from adf.optim.checkpoint import write_json_atomic, write_text_atomic

NONDETERMINISTIC_KEYS = frozenset(
    {"wall_s", "step_wall_s", "started_at", "finished_at", "cache_hits", "paid_usd", "run_dir",
     "resumed_from_step", "resumes", "latency_s",
     # what reached a provider depends on what the cache already held
     "requests", "retries", "unpriced",
     # the forecast learns from the cache's history and, on --resume, from the steps run
     "estimate"}
)


def deterministic_view(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: deterministic_view(v) for k, v in value.items() if k not in NONDETERMINISTIC_KEYS}
    if isinstance(value, list):
        return [deterministic_view(v) for v in value]
    return value


def write_report(run_dir: str, report: Mapping[str, Any]) -> tuple[str, str]:
    json_path = os.path.join(run_dir, "report.json")
    html_path = os.path.join(run_dir, "report.html")
    write_json_atomic(json_path, dict(report), indent=2)
    write_text_atomic(html_path, render_html(report))
    return json_path, html_path


# --- diffs -------------------------------------------------------------------

_TOKEN = re.compile(r"\s+|[^\s]+")


def word_diff(old: str, new: str) -> list[tuple[str, str]]:
    """[(op, text)] with op in "=", "-", "+"; whitespace kept so text reassembles exactly."""
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    out: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            out.append(("=", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(("-", "".join(a[i1:i2])))
        if j2 > j1:
            out.append(("+", "".join(b[j1:j2])))
    return out


def unified_diff(old: str, new: str, name: str) -> str:
    return "".join(difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True),
        fromfile=f"{name} (before)", tofile=f"{name} (after)", lineterm="\n",
    ))


def _diff_html(old: str, new: str) -> str:
    parts = []
    for op, text in word_diff(old, new):
        escaped = html.escape(text)
        if op == "=":
            parts.append(escaped)
        elif op == "-":
            parts.append(f"<del>{escaped}</del>")
        else:
            parts.append(f"<ins>{escaped}</ins>")
    return f'<pre class="diff">{"".join(parts)}</pre>'


# --- charts ------------------------------------------------------------------

_COLORS = ("#1f6feb", "#d1242f", "#1a7f37", "#9a6700")


def line_chart(
    title: str, series: Sequence[tuple[str, Sequence[float | None]]], *, y_label: str = "",
    y_range: tuple[float, float] | None = None, width: int = 560, height: int = 220,
) -> str:
    """An inline SVG chart of one or more series over steps 0..n-1."""
    pad_l, pad_r, pad_t, pad_b = 48, 12, 26, 30
    points = [v for _, values in series for v in values if v is not None]
    count = max((len(values) for _, values in series), default=0)
    lo, hi = y_range if y_range else (min(points, default=0.0), max(points, default=1.0))
    if hi <= lo:
        hi = lo + 1.0
    plot_w, plot_h = width - pad_l - pad_r, height - pad_t - pad_b

    def x(i: int) -> float:
        return pad_l + (plot_w * i / (count - 1) if count > 1 else plot_w / 2)

    def y(v: float) -> float:
        return pad_t + plot_h * (1 - (v - lo) / (hi - lo))

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="{html.escape(title)}">',
           f'<text x="{pad_l}" y="16" class="t">{html.escape(title)}</text>',
           f'<rect x="{pad_l}" y="{pad_t}" width="{plot_w}" height="{plot_h}" class="frame"/>']
    for frac in (0.0, 0.5, 1.0):
        value = lo + (hi - lo) * frac
        out.append(f'<text x="{pad_l - 6}" y="{y(value) + 4:.1f}" class="ax" '
                   f'text-anchor="end">{_fmt(value)}</text>')
    for i in range(count):
        if count <= 12 or i % max(1, count // 10) == 0:
            out.append(f'<text x="{x(i):.1f}" y="{height - 12}" class="ax" '
                       f'text-anchor="middle">{i}</text>')
    if y_label:
        out.append(f'<text x="{width - pad_r}" y="16" class="ax" text-anchor="end">'
                   f'{html.escape(y_label)}</text>')
    for index, (name, values) in enumerate(series):
        color = _COLORS[index % len(_COLORS)]
        coords = [(x(i), y(v)) for i, v in enumerate(values) if v is not None]
        if len(coords) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in coords)
            out.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{path}"/>')
        for px, py in coords:
            out.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{color}"/>')
        out.append(f'<text x="{pad_l + 8 + 110 * index}" y="{pad_t + 14}" fill="{color}" '
                   f'class="ax">{html.escape(name)}</text>')
    out.append("</svg>")
    return "".join(out)


def _fmt(value: float) -> str:
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.0f}"


# --- page --------------------------------------------------------------------

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:960px;color:#1f2328}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #d0d7de;padding:3px 8px;
text-align:left;vertical-align:top}th{background:#f6f8fa}pre{white-space:pre-wrap;
background:#f6f8fa;padding:8px;border-radius:6px}del{background:#ffebe9;color:#82071e}
ins{background:#dafbe1;color:#116329;text-decoration:none}svg .t{font-weight:600;font-size:13px}
svg .ax{font-size:11px;fill:#57606a}svg .frame{fill:none;stroke:#d0d7de}
.ok{color:#1a7f37;font-weight:600}.no{color:#82071e}.muted{color:#57606a}
"""


def _cell(value: Any) -> str:
    if value is None:
        return '<span class="muted">–</span>'
    if isinstance(value, float):
        return f"{value:.3f}"
    return html.escape(str(value))


def _table(head: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    top = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{_cell(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{top}</tr>{body}</table>"


def render_html(report: Mapping[str, Any]) -> str:
    program = report.get("program", {})
    scores = report.get("scores", {})
    steps = list(report.get("steps", []))
    title = f"adf training report: {program.get('source', '')}"
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
             f"</title><style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>",
             f"<p>Status: <b>{html.escape(str(report.get('status', '')))}</b></p>"]
    parts.append(_table(["", "before", "after"], [
        ["validation score", scores.get("val_before"), scores.get("val_after")],
        ["test score", scores.get("test_before"), scores.get("test_after")],
    ]))
    val = [scores.get("val_before")] + [s.get("val_score") for s in steps]
    train = [None] + [s.get("train_score") for s in steps]
    parts.append("<h2>Scores per step</h2>")
    parts.append(line_chart("score (step 0 = start)", [("validation", val), ("train batch", train)],
                            y_range=(0.0, 1.0)))
    calls = [0] + [s.get("calls", 0) for s in steps]
    tokens = [0] + [s.get("tokens", 0) for s in steps]
    parts.append("<h2>Cost per step (cumulative)</h2>")
    parts.append(line_chart("model calls", [("calls", calls)]))
    parts.append(line_chart("tokens", [("tokens", tokens)]))
    if any(s.get("cost_usd") for s in steps):
        parts.append(line_chart("dollars", [("USD", [0.0] + [s.get("cost_usd", 0.0) for s in steps])]))
    parts.append("<h2>Steps</h2>")
    parts.append(_table(
        ["step", "train", "val", "errors", "not scored", "accepted", "rejected", "calls",
         "requests", "retries", "failed calls", "tokens"],
        [[s.get("step"), s.get("train_score"), s.get("val_score"), s.get("errors"),
          s.get("call_failed", 0), s.get("accepted"), s.get("rejected"), s.get("calls"),
          s.get("requests"), s.get("retries"), s.get("failures"), s.get("tokens")]
         for s in steps],
    ))
    if report.get("call_failed"):
        parts.append(f"<p class='no'>{report['call_failed']} sample evaluations were not "
                     "scored: a model call failed after its retries (neither right nor "
                     "wrong, so left out of every score).</p>")
    parts.append(_data_html(report.get("data", {})))
    parts.append("<h2>Parameters</h2>")
    for name, entry in report.get("params", {}).items():
        initial, final = _text(entry.get("initial")), _text(entry.get("final"))
        changed = "changed" if initial != final else "unchanged"
        parts.append(f"<h3>{html.escape(name)} <span class='muted'>({changed})</span></h3>")
        parts.append(_diff_html(initial, final))
    parts.append("<h2>Proposals</h2>")
    for step in steps:
        for proposal in step.get("proposals", []):
            verdict = proposal.get("verdict", "")
            css = "ok" if verdict == "accepted" else "no"
            parts.append(
                f"<p>step {step.get('step')} · {html.escape(str(proposal.get('param')))} · "
                f"<span class='{css}'>{html.escape(verdict)}</span> "
                f"<span class='muted'>{html.escape(str(proposal.get('reason', '')))}</span></p>"
            )
            if proposal.get("value") is not None:
                parts.append(_diff_html(_text(proposal.get("before")), _text(proposal.get("value"))))
    usage = report.get("usage", {})
    if usage:
        parts.append("<h2>Model usage</h2>")
        rows = [[purpose, c.get("calls"), c.get("cache_hits"), c.get("requests"), c.get("retries"),
                 c.get("failures"), c.get("prompt_tokens"), c.get("completion_tokens"),
                 c.get("cost_usd")] for purpose, c in usage.get("by_purpose", {}).items()]
        parts.append(_table(["role", "calls", "cache hits", "provider requests", "retries",
                             "failed", "prompt tokens", "completion tokens", "USD"], rows))
    estimate = report.get("estimate")
    if estimate:
        parts.append("<h2>Forecast vs actual</h2>")
        actual = usage.get("by_purpose", {})
        rows = []
        for role, guess in estimate.get("by_role", {}).items():
            real = actual.get(role, {})
            rows.append([role, guess.get("calls"), real.get("calls"),
                         guess.get("prompt_tokens", 0) + guess.get("completion_tokens", 0),
                         real.get("prompt_tokens", 0) + real.get("completion_tokens", 0)])
        rows.append(["total", estimate.get("calls"), usage.get("calls"), estimate.get("tokens"),
                     usage.get("tokens")])
        parts.append(_table(["role", "forecast calls", "actual calls", "forecast tokens",
                             "actual tokens"], rows))
        notes = estimate.get("assumptions", [])
        if notes:
            parts.append(f"<p class='muted'>forecast assumptions: {html.escape('; '.join(notes))}</p>")
    parts.append("</body></html>\n")
    return "".join(parts)


def _data_html(data: Mapping[str, Any]) -> str:
    """The data section: split sizes, notes, and every bad row with its file:line."""
    parts = ["<h2>Data</h2>", _table(["train", "val", "test"],
                                     [[data.get("train"), data.get("val"), data.get("test")]])]
    parts.extend(f"<p class='muted'>{html.escape(str(note))}</p>" for note in data.get("notes", []))
    bad = data.get("bad_rows", [])
    if bad:
        parts.append(f"<p class='no'>{len(bad)} bad rows skipped:</p>")
        parts.append(_table(["row", "reason"], [[b.get("where"), b.get("message")] for b in bad]))
    return "".join(parts)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=1, ensure_ascii=False)
