"""Static analyses over a compiled plan: lint before you spend.

Takes a `Plan` (the unrolled graph; a `.adf` source compiles to one, a
`.plan` file decodes to one); gives diagnostics, estimates and drawings.
Nothing here calls a model or imports the runtime; facts about a model
(context window, token estimate, price) come from `adf.llm.catalogue`.

- `lint.lint_plan`: every lint with the configuration applied; built from
  `reachability` (W0501-W0503), `deadcode` (W0504-W0510), `loopsize`
  (W0511-W0512), `deadbranch` (W0530), `shellsink` (W0540; model output
  reaching a shell or eval, read through `adf.compiler.pysink`) and
  `context` (W0601-W0603), over a `graphview.GraphView`;
- `config` (`[tool.adf]` in pyproject.toml; W0520-W0521) and `suppress`
  (`# adf: allow CODE` comments; W0513);
- `sizes` and `cost` (`adfc cost`, also for `adfc train --dry-run`),
  `costreport`;
- `sarif` (SARIF 2.1.0 for code scanning);
- `drawing`, `dot`, `svg`, `html` (`adfc graph`);
- `fmt` (`adfc fmt`, the canonical layout).
"""
