"""Checking option values: model options against their typed table, quoted numbers anywhere.

Takes the options of a `model` declaration (or one option value and what it
expects); gives diagnostics: E0212 for a model option the table in
`adf.plan.model_options` does not know (with did-you-mean, and where
provider extras go), E0213 for a value of the wrong kind, out of range, or
a number written in quotes ("drop the quotes"). Names where a value is
expected, and malformed `env(...)` names, are reported here too, and so is
a setting written in the `train { }` block, which takes roles only.
"""

from __future__ import annotations

import re

from adf.compiler.report import diag, nearest, suggest
from adf.diagnostics import Diagnostic
from adf.plan.model_options import EXTRA_PREFIX, OPTIONS, OptionSpec, provider_name
from adf.syntax import ast

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"\s*[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?\s*")


def check_model_options(options: tuple[ast.Option, ...]) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    for option in options:
        name = option.name.name
        spec = OPTIONS.get(name)
        found = literal_problem(option, "model options")
        if found is not None:
            diags.append(found)
        elif spec is not None:
            diags.extend(_against(spec, option))
        elif provider_name(name) is None:
            diags.append(_unknown(option))
    return diags


# Settings of `adfc train` people try to write in the `train { }` block (checked
# against the command's options by a test; the compiler does not import the CLI).
TRAIN_FLAGS = (
    "steps",
    "batch_size",
    "proposals",
    "demo_proposals",
    "seed",
    "threshold",
    "concurrency",
    "max_steps",
    "max_calls",
    "max_tokens",
    "max_usd",
)


def unknown_train_option(option: ast.Option) -> Diagnostic:
    """E0212: the `train` block names models for roles only; settings are flags."""
    name = option.name.name
    flag = f"--{name.replace('_', '-')}"
    return diag(
        "E0212",
        f"unknown training option `{name}`",
        option.name.span,
        "not a training role",
        notes=("the `train` block names the models of the roles backward, optimizer and teacher",),
        help=(
            f"training settings are options of the command: `adfc train {flag} ...`"
            if name in TRAIN_FLAGS
            else "training settings are options of the command: see `adfc train --help`"
        ),
    )


def literal_problem(option: ast.Option, where: str) -> Diagnostic | None:
    """E0213 for a name where a literal is needed, or a malformed `env(...)` name."""
    value = option.value
    if isinstance(value, ast.Ref):
        return diag(
            "E0213",
            f"the option `{option.name.name}` needs a literal value, found the name `{value.name}`",
            value.span,
            "a name, not a value",
            help=f'{where} take strings, numbers, booleans or `env("VARIABLE")`; write `"{value.name}"` for text',
        )
    if isinstance(value, ast.EnvCall) and not _ENV_NAME.fullmatch(value.var.value):
        return diag(
            "E0213",
            f"`{value.var.value}` is not an environment variable name",
            value.var.span,
            "invalid variable name",
            help='write the variable\'s name, e.g. `env("OPENAI_API_KEY")`, never the secret itself',
        )
    return None


def quoted_number(value: ast.Expr, option: str, expected: str) -> Diagnostic | None:
    """E0213 "drop the quotes" for `option: "0.5"` where a number is expected."""
    if not (isinstance(value, ast.StrLit) and _NUMBER.fullmatch(value.value)):
        return None
    return diag(
        "E0213",
        f"the option `{option}` takes {expected}, found the text {value.raw or repr(value.value)}",
        value.span,
        "a number in quotes is text",
        help=f"drop the quotes: `{option}: {value.value.strip()}`",
    )


def _unknown(option: ast.Option) -> Diagnostic:
    name = option.name.name
    close = suggest(name, OPTIONS)
    listing = f"`adfc explain E0212` lists all {len(OPTIONS)} model options"
    if close:  # the help names the one meant; the notes say where the others and extras are
        notes = [listing, f"a provider's own option is written with the prefix `{EXTRA_PREFIX}` and sent without it"]
    else:
        near = nearest(name, OPTIONS)
        notes = [f"the nearest are {', '.join(f'`{n}`' for n in near)}; {listing}" if near else listing]
    return diag(
        "E0212",
        f"unknown model option `{name}`",
        option.name.span,
        "not a model option",
        notes=notes,
        help=close or f"for a provider's own option write `{EXTRA_PREFIX}{name}: ...` (sent as `{name}`)",
    )


def _against(spec: OptionSpec, option: ast.Option) -> list[Diagnostic]:
    value = option.value
    name = option.name.name
    if isinstance(value, ast.EnvCall):
        if spec.env == "never":
            return [
                _bad(
                    option,
                    f"the option `{name}` cannot come from the environment",
                    help=f"write the value itself: {spec.expected}",
                )
            ]
        return []
    if spec.env == "required":
        return [
            _bad(
                option,
                f"the option `{name}` must be read from the environment",
                help=f'write `{name}: env("VARIABLE")` with the variable\'s name; never put a secret in a file',
            )
        ]
    match spec.kind:
        case "int" | "number":
            quoted = quoted_number(value, name, spec.expected)
            if quoted is not None:
                return [quoted]
            number_ok = isinstance(value, ast.IntLit) or (
                spec.kind == "number" and isinstance(value, ast.FloatLit)
            )
            if not number_ok:
                return [_bad(option, f"the option `{name}` takes {spec.expected}, found {_shown(value)}")]
            assert isinstance(value, ast.IntLit | ast.FloatLit)
            if (spec.low is not None and value.value < spec.low) or (
                spec.high is not None and value.value > spec.high
            ):
                return [_bad(option, f"the option `{name}` takes {spec.expected}, found {value.value}")]
        case "bool":
            if not isinstance(value, ast.BoolLit):
                return [_bad(option, f"the option `{name}` takes {spec.expected}, found {_shown(value)}")]
        case "text":
            if not isinstance(value, ast.StrLit):
                return [
                    _bad(
                        option,
                        f"the option `{name}` takes {spec.expected}, found {_shown(value)}",
                        help=f'quote it: `{name}: "{_shown(value)}"`',
                    )
                ]
        case "choice":
            if not isinstance(value, ast.StrLit) or value.value not in spec.choices:
                shown = value.value if isinstance(value, ast.StrLit) else None
                return [
                    _bad(
                        option,
                        f"the option `{name}` takes {spec.expected}, found {_shown(value)}",
                        help=(suggest(shown, spec.choices) if shown is not None else "")
                        or f"write e.g. `{name}: \"{spec.choices[0]}\"`",
                    )
                ]
    return []


def _bad(option: ast.Option, message: str, *, help: str = "") -> Diagnostic:
    spec = OPTIONS.get(option.name.name)
    return diag(
        "E0213",
        message,
        option.value.span,
        "invalid value",
        notes=(f"`{spec.name}`: {spec.summary}",) if spec is not None else (),
        help=help or (f"write {spec.expected}" if spec is not None else ""),
    )


def _shown(value: ast.OptionValueExpr) -> str:
    match value:
        case ast.StrLit():
            return f"the text {value.raw or repr(value.value)}"
        case ast.BoolLit():
            return "true" if value.value else "false"
        case ast.IntLit() | ast.FloatLit():
            return str(value.value)
        case ast.EnvCall():
            return f'env("{value.var.value}")'
        case ast.Ref():
            return value.name
