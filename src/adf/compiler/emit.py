"""Emit: the checked, unrolled program -> `adf.plan.schema.Plan`.

Takes the `Program`, the llm -> model table of its `Scope`, and the `Typing`
and `Unrolled` nodes of a program without errors, plus the source's name and
text; gives the `Plan` (the rest of the scope is not needed, so the
pipeline frees it before a large program's plan is built). Every
field is filled: models (options that come from `env("NAME")` stay
`EnvRef`s, so no secret is ever stored), params with the span of their
literal (`value_span`, for writing trained values back), inputs and
targets with the data field they read, the declared functions, loops,
nodes, losses, outputs and the training roles. When there is no `train`
block, the backward engine and the optimizer default to the model of the
first llm in the file (and the teacher to none).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from adf.compiler import types as T
from adf.compiler.resolve import ROLES
from adf.compiler.typecheck import Typing
from adf.compiler.unroll import Unrolled, canonical_json, fn_ref, plan_options
from adf.plan import schema
from adf.plan.schema import FORMAT_VERSION, OptionValue
from adf.syntax import ast


def _sha256_hex(data: bytes) -> str:
    """SHA-256 of `data`, from CPython's built-in module when it has one:
    `hashlib` loads OpenSSL, a few milliseconds of every `adfc check`."""
    try:
        module = importlib.import_module("_sha256")  # CPython 3.11 (3.12+: `_sha2`)
    except ImportError:
        try:
            module = importlib.import_module("_sha2")
        except ImportError:
            module = importlib.import_module("hashlib")
    return str(module.sha256(data).hexdigest())


def emit_plan(
    program: ast.Program,
    llm_models: Mapping[str, str],
    typing: Typing,
    unrolled: Unrolled,
    source_name: str,
    source: str,
) -> schema.Plan:
    models: list[schema.ModelDecl] = []
    params: list[schema.ParamDecl] = []
    inputs: list[schema.DataDecl] = []
    targets: list[schema.DataDecl] = []
    functions: list[schema.FunctionDecl] = []
    losses: list[schema.Loss] = []
    outputs: list[schema.Output] = []
    objectives: list[schema.Objective] = []
    train: ast.TrainDecl | None = None
    first_llm_model: str | None = None
    extra_nodes: list[schema.Node] = []
    for decl in program.decls:
        match decl:
            case ast.ModelDecl():
                models.append(
                    schema.ModelDecl(
                        decl.name.name, decl.model.value, plan_options(decl.options), decl.span
                    )
                )
            case ast.TrainDecl():
                train = decl
            case ast.ParamDecl():
                params.append(_param(decl))
            case ast.DataDecl():
                data = schema.DataDecl(
                    decl.name.name,
                    typing.values.get(decl.name.name) or T.ANY,
                    ast.row_field(decl),
                    decl.span,
                )
                (inputs if decl.role == "input" else targets).append(data)
            case ast.LlmDecl():
                functions.append(schema.FunctionDecl(decl.name.name, "llm", decl.span))
                if first_llm_model is None:
                    first_llm_model = llm_models.get(decl.name.name)
            case ast.FnDecl():
                functions.append(schema.FunctionDecl(decl.name.name, "fn", decl.span))
            case ast.LossDecl():
                sources = []
                for i, arg in enumerate(a for a in decl.args if a.name is None):
                    sources.append(
                        _loss_arg(arg.value, f"{decl.name.name}.{i}", unrolled, typing, extra_nodes)
                    )
                options = tuple(
                    (a.name.name, _scalar(a.value)) for a in decl.args if a.name is not None
                )
                losses.append(
                    schema.Loss(
                        decl.name.name,
                        fn_ref(decl.metric),
                        sources[0],
                        sources[1],
                        options,
                        decl.span,
                    )
                )
            case ast.ObjectiveDecl():
                objectives.append(schema.Objective(
                    decl.name.name,
                    tuple(schema.ObjectiveTerm(t.loss.name, t.weight) for t in decl.terms),
                    decl.span,
                ))
            case ast.OutputDecl():
                outputs.append(
                    schema.Output(decl.name.name, unrolled.final[decl.name.name], decl.span)
                )
            case _:
                pass
    return schema.Plan(
        format_version=FORMAT_VERSION,
        source_name=source_name,
        source_hash=_sha256_hex(source.encode("utf-8", "surrogatepass")),
        models=tuple(models),
        params=tuple(params),
        inputs=tuple(inputs),
        targets=tuple(targets),
        functions=tuple(functions),
        loops=unrolled.loops,
        nodes=unrolled.nodes + tuple(extra_nodes),
        losses=tuple(losses),
        outputs=tuple(outputs),
        training=_training(train, first_llm_model),
        objectives=tuple(objectives),
    )


def _scalar(expr: ast.Expr) -> OptionValue:
    if isinstance(expr, ast.StrLit | ast.IntLit | ast.FloatLit | ast.BoolLit):
        return expr.value
    raise ValueError("loss options are checked to be scalars")  # compiler bug


def _param(decl: ast.ParamDecl) -> schema.ParamDecl:
    value = ""
    demos: list[schema.Demo] = []
    max_demos: int | None = None
    turns = False
    if decl.kind == "prompt":
        assert isinstance(decl.value, ast.StrLit)
        value = decl.value.value
    else:
        assert isinstance(decl.value, ast.ListLit)
        for item in decl.value.items:
            assert isinstance(item, ast.RecordLit)
            demos.append(schema.Demo(tuple((name.name, _text(v)) for name, v in item.fields)))
        for option in decl.kind_options:
            if option.name.name == "max" and isinstance(option.value, ast.IntLit):
                max_demos = option.value.value
            if option.name.name == "turns" and isinstance(option.value, ast.BoolLit):
                turns = option.value.value
    return schema.ParamDecl(
        name=decl.name.name,
        kind=decl.kind,
        value=value,
        demos=tuple(demos),
        frozen=decl.frozen,
        description=decl.description.value if decl.description is not None else "",
        max_demos=max_demos,
        span=decl.span,
        # a used file's param (a dotted name) is never rewritten in place (adf.compiler.link)
        value_span=None if "." in decl.name.name else decl.value.span,
        turns=turns,
    )


def _text(expr: ast.Expr) -> str:
    if isinstance(expr, ast.StrLit):
        return expr.value
    return canonical_json(T.literal_value(expr))


def _loss_arg(
    expr: ast.Expr, stem: str, unrolled: Unrolled, typing: Typing, extra: list[schema.Node]
) -> str:
    if isinstance(expr, ast.Ref):
        return unrolled.final[expr.name]
    literal = T.literal_type(expr)
    if literal is not None:
        extra.append(
            schema.Node(
                stem,
                "const",
                stem,
                None,
                None,
                (),
                literal,
                expr.span,
                value_json=canonical_json(T.literal_value(expr)),
            )
        )
        return stem
    raise ValueError("loss arguments are names or literals")  # checked by the pipeline


def _training(train: ast.TrainDecl | None, default: str | None) -> schema.Training | None:
    roles: dict[str, str] = {}
    options: list[tuple[str, OptionValue]] = []
    if train is not None:
        for option in train.options:
            if option.name.name in ROLES and isinstance(option.value, ast.Ref):
                roles[option.name.name] = option.value.name
            elif option.name.name not in ROLES:
                options.extend(plan_options((option,)))
    backward = roles.get("backward", roles.get("optimizer", default))
    optimizer = roles.get("optimizer", roles.get("backward", default))
    if backward is None or optimizer is None:
        return None
    return schema.Training(backward, optimizer, roles.get("teacher"), tuple(options))
