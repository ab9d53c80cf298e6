"""A self-contained HTML page showing the unrolled graph.

Takes a `Drawing`; gives one HTML document with the SVG inline (no external
scripts, styles or fonts), a legend, a summary line, and a few lines of
script: clicking a vertex highlights the edges entering and leaving it.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from adf.analysis.drawing import CALL, Drawing
from adf.analysis.svg import render_svg

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font: 14px sans-serif; margin: 1.5em; color: #212529; }}
h1 {{ font-size: 1.2em; }}
.legend span {{ display: inline-block; margin-right: 1.2em; }}
.swatch {{ display: inline-block; width: 1em; height: 0.8em; border: 1px solid #868e96;
          vertical-align: middle; margin-right: 0.3em; }}
.canvas {{ overflow: auto; border: 1px solid #dee2e6; }}
.edge.focus {{ stroke: #1c7ed6 !important; stroke-width: 3 !important; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p>{summary}</p>
<p class="legend">
<span><i class="swatch" style="background:#fff3bf"></i>parameter</span>
<span><i class="swatch" style="background:#e7f5ff"></i>input / target</span>
<span><i class="swatch" style="background:#d0ebff"></i>llm call</span>
<span><i class="swatch" style="background:#ebfbee"></i>function</span>
<span><i class="swatch" style="background:#ffe3e3"></i>loss</span>
<span><i class="swatch" style="border:2.5px solid #d9480f"></i>on a gradient path</span>
<span><i class="swatch" style="border:3px solid #2b8a3e"></i>taken by the traced sample</span>
<span><i class="swatch" style="border:1px dashed #adb5bd"></i>not taken</span>
</p>
<div class="canvas">
{svg}
</div>
<script>
document.querySelectorAll(".vertex").forEach(function (v) {{
  v.addEventListener("click", function () {{
    var id = v.getAttribute("data-id");
    document.querySelectorAll(".edge").forEach(function (e) {{
      var hit = e.getAttribute("data-from") === id || e.getAttribute("data-to") === id;
      e.classList.toggle("focus", hit);
    }});
  }});
}});
</script>
</body>
</html>
"""


def render_html(drawing: Drawing) -> str:
    kinds = [v.kind for v in drawing.vertices]
    learning = sum(1 for v in drawing.vertices if v.kind == "param" and v.highlighted)
    # loop steps: not map items, nor the groups of workflow calls
    steps = sum(1 for name, index in drawing.groups() if not name.endswith("#") and index != CALL)
    summary = (
        f"{kinds.count('llm')} llm calls, {kinds.count('fn')} function calls, "
        f"{kinds.count('param')} parameters ({learning} on a gradient path), "
        f"{kinds.count('loss')} losses, {steps} loop time steps"
    )
    nodes = [v for v in drawing.vertices if v.kind not in ("param", "input", "target", "loss", "output")]
    if any(v.taken is not None for v in nodes):
        ran = sum(1 for v in nodes if v.taken)
        skipped = sum(1 for v in nodes if v.taken is False)
        summary += f"; traced: {ran} nodes taken, {skipped} not taken"
    return _PAGE.format(
        title=escape(f"adf graph: {drawing.name}"), summary=escape(summary),
        svg=render_svg(drawing).removesuffix("\n"),
    )
