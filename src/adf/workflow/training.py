"""Set up, run and conclude a training run of a workflow.

Takes the `.adf` path, `TrainOptions` (the run's `TrainSettings` and
`DataSettings` from `adf.plan.settings`, run folder, resume) and `RunOptions` (model
overrides, cache); gives `prepare_training` (compile, lock file, model
resolution, data splits, the forecast), `run_folder` (a fresh or resumed
run folder, every output checked writable before any call), `hold_run`
(an OS-level exclusive lock on the run folder for the whole run, giving the
lock file the run started from), `TrainingRun` (runs or resumes the
`Trainer` and, when interrupted, writes the report of what finished), and
`save_trained` (the lock file, only over the one this run started from
unless forced, and on request the trained literals written into the source).
Nothing is printed here: `adfc train` and `adf.Workflow.train` report in
their own ways. Failures are `WorkflowError`s.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from adf.optim.lockfile import LockBase
from adf.plan.paramvalue import param_value
from adf.plan.settings import DataSettings, Limits, TrainSettings, problem
from adf.workflow.errors import FAILED, USAGE, WorkflowError
from adf.workflow.executor import check_executor, open_run_executor
from adf.workflow.load import ProgramErrors, compile_program, compile_text
from adf.workflow.models import (
    Resolved,
    RunOptions,
    open_workflow,
    priced_plan,
    resolve,
    token_history,
)

if TYPE_CHECKING:
    from adf.analysis.cost import CostEstimate, Scenario
    from adf.optim.lockfile import LockResult
    from adf.optim.trainer import Splits, Trainer, TrainOutcome
    from adf.plan.schema import Plan
    from adf.runtime.data import Sample

EventSink = Callable[[str, Mapping[str, Any]], None]


@attrs.frozen
class TrainOptions:
    """A training run's options; the defaults are `adfc train`'s.

    The settings the trainer runs by and the forecast reads are one
    `TrainSettings` (budgets in its `limits`); which data it reads is
    `DataSettings`. `TrainOptions.of` takes them all as flat keywords, as
    `adf.Workflow.train` does.
    """

    settings: TrainSettings = attrs.field(factory=TrainSettings)
    data: DataSettings = attrs.field(factory=DataSettings)
    out: str | None = None  # run folder; None: runs/NAME-TIMESTAMP
    resume: bool = False
    use_lock: bool = True
    force: bool = False  # replace the lock file even if this run did not start from it

    @classmethod
    def of(cls, **options: Any) -> TrainOptions:
        """Options from flat keywords named like the records' fields (`steps`, `batch_size`,
        `max_calls`, `val_limit`, ...; `data` is the data folder); `TypeError` names one
        that is not an option."""
        own = {f.name for f in attrs.fields(cls)} - {"settings", "data"}
        records: dict[str, dict[str, Any]] = {"settings": {}, "limits": {}, "data": {}, "own": {}}
        fields = {
            "settings": {f.name for f in attrs.fields(TrainSettings)} - {"limits"},
            "limits": {f.name for f in attrs.fields(Limits)},
            "data": {f.name for f in attrs.fields(DataSettings)} - {"folder"},
        }
        for name, value in options.items():
            where = next((k for k, names in fields.items() if name in names), None)
            if name == "data":
                records["data"]["folder"] = value
            elif where is not None:
                records[where][name] = value
            elif name in own:
                records["own"][name] = value
            else:
                raise TypeError(f"unexpected keyword argument {name!r}")
        settings = TrainSettings(**records["settings"], limits=Limits(**records["limits"]))
        return cls(settings, DataSettings(**records["data"]), **records["own"])

    def problem(self) -> str | None:
        """The first option out of range, as a message naming its flag; None if all fit."""
        return problem(self.settings, self.data)


@attrs.frozen
class Prepared:
    """Everything a training run starts from."""

    path: str
    options: TrainOptions
    run_options: RunOptions
    base_plan: Plan  # as compiled from the source
    start_plan: Plan  # with the lock applied (unless --no-lock or --resume)
    lock: LockResult | None
    resolved: Resolved
    settings: TrainSettings
    splits: Splits
    forecast: CostEstimate
    start_lock: LockBase  # the lock file as it was when this run started

    @property
    def setup_calls(self) -> int:
        """Model calls for scoring val and test at the start."""
        llm_calls = sum(1 for node in self.start_plan.nodes if node.kind == "llm")
        return (len(self.splits.val) + len(self.splits.test)) * llm_calls


def prepare_training(path: str, options: TrainOptions, run_options: RunOptions) -> Prepared:
    """Compile `path`, resolve its models, apply its lock, load the splits, forecast the cost."""
    from adf.analysis.cost import estimate_cost

    problem = options.problem()
    if problem:
        raise WorkflowError(problem, USAGE)
    check_executor(run_options)
    if not os.path.isfile(path):
        raise WorkflowError(f"cannot read {path}: no such file", USAGE)
    compiled = compile_program(path)
    if isinstance(compiled, ProgramErrors):
        count = compiled.count
        raise WorkflowError(f"{path}: {count} error{'s' if count != 1 else ''}", FAILED,
                            details=compiled.text)
    base_plan = compiled
    if not [p for p in base_plan.params if not p.frozen]:
        raise WorkflowError(f"{path} declares no trainable parameter: nothing to train", FAILED)
    resolved = resolve(base_plan, run_options)
    lock = None
    start_plan = base_plan
    from adf.optim.lockfile import lock_digest

    start_lock = LockBase(lock_digest(path), options.use_lock)  # read before it is applied
    if options.use_lock and not options.resume:  # a resumed run starts from its checkpoint
        from adf.workflow.load import apply_lock

        lock = apply_lock(base_plan, path)
        start_plan = lock.plan
    settings = options.settings
    folder = options.data.folder or os.path.join(os.path.dirname(os.path.abspath(path)), "data")
    splits = load_splits(start_plan, folder, options.data, settings.seed)
    scenario = forecast_scenario(settings, splits)
    if options.resume:
        identity = _identity(base_plan, resolved.overrides, settings)
        scenario = _observed_rates(scenario, path, options, identity)
    forecast = estimate_cost(priced_plan(start_plan, resolved),
                             data_rows=data_rows(start_plan, splits.train),
                             settings=scenario, pricing=True,
                             history=token_history(start_plan, run_options))
    return Prepared(path, options, run_options, base_plan, start_plan, lock, resolved,
                    settings, splits, forecast, start_lock)


def forecast_scenario(settings: TrainSettings, splits: Splits) -> Scenario:
    """The run the forecast describes: the trainer's settings and the splits' sizes."""
    from adf.analysis.cost import Scenario

    return Scenario(settings, val_size=len(splits.val), test_size=len(splits.test))


def _keep_rates(prepared: Prepared, outcome: TrainOutcome) -> None:
    """Add the rates this run's steps measured to the reply cache's history of its task model."""
    from adf.llm.cache import DEFAULT_PATH, CacheError, ReplyCache
    from adf.optim.observed import counts, observe
    from adf.workflow.models import task_model

    options = prepared.run_options
    models = {name: model.model for name, model in prepared.resolved.models.items()}
    task = task_model(prepared.start_plan, models)
    if not options.use_cache or task is None:
        return
    resumes = outcome.state.resumes
    since = int(resumes[-1].get("from_step", 0)) if resumes else 0  # earlier steps: added then
    seen = observe([r for r in outcome.state.records if r.step > since],
                   len(prepared.splits.val))
    cache = ReplyCache(options.cache or DEFAULT_PATH)
    try:
        cache.add_rates(task, counts(seen))
    except CacheError:
        pass  # the run is done; a cache that cannot take its rates costs only calibration
    finally:
        cache.close()


def _observed_rates(scenario: Scenario, path: str, options: TrainOptions,
                    identity: str) -> Scenario:
    """`scenario` with the rates the resumed run's finished steps measured (where they did)
    and what its counters say it spent (steps, the scoring at the start, usage by purpose).
    A checkpoint of another program or other settings is refused here, before anything is
    forecast or spent, in the trainer's own words; a missing or damaged one the run names."""
    from adf.analysis.costhistory import History, Rates, Spent
    from adf.llm.usage import Usage
    from adf.optim.checkpoint import CheckpointError, CheckpointMismatch, load_checkpoint
    from adf.optim.observed import counts, observe
    from adf.optim.records import StepRecord

    stem = os.path.splitext(os.path.basename(path))[0]
    run_dir = options.out or latest_run(stem)
    try:
        raw = load_checkpoint(run_dir, identity) if run_dir else None
        records = [StepRecord.from_json(r) for r in raw["records"]] if raw else []
        spent = Spent(int(raw["step"]), raw["phase"] != "setup", raw["phase"] == "done",
                      tuple((p, Usage.from_json(u)) for p, u in raw["meter"]["by_purpose"].items())
                      ) if raw else Spent()
    except CheckpointMismatch as exc:  # another run's: nothing of it is this run's
        raise WorkflowError(f"cannot resume: {exc}", FAILED) from None
    except (CheckpointError, KeyError, TypeError, ValueError, AttributeError):
        return scenario  # the run itself names a missing or damaged checkpoint
    seen = observe(records, scenario.val_size)
    # the run's own counts, read as the history's are; no evidence: the prior (None)
    rates = History(rates=counts(seen)).calibrate(Rates(fail_rate=scenario.rates.fail_rate))
    return attrs.evolve(scenario, spent=spent, rates=rates)


def data_rows(plan: Plan, samples: Sequence[Sample]) -> list[dict[str, Any]]:
    """Samples as the data rows they came from (field name -> value), to size inputs."""
    fields = {d.name: d.field for d in (*plan.inputs, *plan.targets)}
    return [{fields.get(name, name): value for name, value in sample.values().items()}
            for sample in samples]


def load_splits(plan: Plan, folder: str, options: DataSettings, seed: int) -> Splits:
    """The train, val and test samples, every bad row of every split, and notes on gaps.

    Without a val split, a quarter of the training samples is held out for validation.
    """
    from adf.optim.trainer import Splits
    from adf.runtime.data import BadRow, DataError, load_data, resolve_path

    if not os.path.isdir(folder):
        raise WorkflowError(f"data folder {folder} not found (use --data DIR)", USAGE)
    notes: list[str] = []
    bad: list[BadRow] = []

    def load(split: str, limit: int | None) -> tuple[Sample, ...]:
        data = load_data(plan, folder, split=split, limit=limit, strict=options.strict_data)
        bad.extend(data.bad_rows)
        return data.samples

    try:
        train = load(options.train_split, options.train_limit)
        if not train:
            raise WorkflowError(
                f"the {options.train_split} split in {folder} has no usable rows", USAGE)
        try:
            resolve_path(folder, options.val_split)
        except DataError:
            order = list(train)
            random.Random(seed).shuffle(order)
            cut = max(1, len(order) // 4)
            val = tuple(order[:cut][: options.val_limit or None])
            train = tuple(s for s in train if s not in set(order[:cut]))
            notes.append(f"no {options.val_split} split: held out {len(val)} training samples "
                         "for validation")
        else:
            val = load(options.val_split, options.val_limit)
        test: tuple[Sample, ...] = ()
        if options.test_limit != 0:
            try:
                resolve_path(folder, options.test_split)
            except DataError:
                notes.append(f"no {options.test_split} split: test scores are not reported")
            else:
                test = load(options.test_split, options.test_limit)
    except DataError as exc:
        raise WorkflowError(str(exc), USAGE) from None
    if bad:
        notes.append(f"{len(bad)} bad data row{'s' if len(bad) != 1 else ''} skipped "
                     "(listed in the report; --strict-data stops at the first)")
    return Splits(tuple(train), tuple(val), test, tuple(notes), tuple(bad))


def latest_run(stem: str, root: str = "runs") -> str | None:
    """The most recent run folder of `stem` that holds a checkpoint."""
    candidates = sorted(glob.glob(os.path.join(root, f"{stem}-*")))
    with_checkpoint = [c for c in candidates if os.path.isfile(os.path.join(c, "checkpoint.json"))]
    return with_checkpoint[-1] if with_checkpoint else None


def new_run_dir(stem: str, root: str = "runs") -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = os.path.join(root, f"{stem}-{stamp}")
    candidate, n = base, 1
    while os.path.exists(candidate):
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def run_folder(prepared: Prepared) -> str:
    """The run folder: the one to resume, or a fresh one (created).

    Every place the run writes to (run folder, lock file's folder, reply
    cache) is checked writable first, so a read-only or full disk is named
    before any budget is spent.
    """
    from adf.optim.runlock import unwritable

    options = prepared.options
    stem = os.path.splitext(os.path.basename(prepared.path))[0]
    run_dir = options.out or (latest_run(stem) if options.resume else new_run_dir(stem))
    _check_run_dir(options, run_dir)
    assert run_dir is not None
    problem = unwritable(_outputs(prepared, run_dir))
    if problem is not None:
        raise WorkflowError(f"{problem} (checked before any model call: nothing was spent)",
                            USAGE)
    return run_dir


def _check_run_dir(options: TrainOptions, run_dir: str | None) -> None:
    if options.resume:
        if run_dir is None or not os.path.isfile(os.path.join(run_dir, "checkpoint.json")):
            raise WorkflowError("no run to resume (no checkpoint found; give --out DIR)", USAGE)
    elif run_dir is not None and os.path.isfile(os.path.join(run_dir, "checkpoint.json")):
        raise WorkflowError(f"{run_dir} already holds a run; use --resume or another --out",
                            USAGE)


def _outputs(prepared: Prepared, run_dir: str) -> list[tuple[str, str]]:
    from adf.llm.cache import DEFAULT_PATH

    places = [("run folder", run_dir),
              ("lock file", os.path.dirname(os.path.abspath(prepared.path)))]
    cache = prepared.run_options.cache
    if prepared.run_options.use_cache:
        places.append(("reply cache", os.path.dirname(os.path.abspath(cache or DEFAULT_PATH))))
    return places


@contextlib.contextmanager
def hold_run(prepared: Prepared, run_dir: str) -> Iterator[LockBase]:
    """Hold the run folder for this process; give the lock file the run started from.

    A second process asking for the same folder gets a `WorkflowError` at once.
    """
    from adf.optim.lockfile import load_lock_base, save_lock_base
    from adf.optim.runlock import FolderBusy, hold_folder

    try:
        with hold_folder(run_dir):
            _check_run_dir(prepared.options, run_dir)  # filled by another run meanwhile?
            if prepared.options.resume:
                base = load_lock_base(run_dir, prepared.path)
            else:
                base = prepared.start_lock
                save_lock_base(run_dir, base)
            yield base
    except FolderBusy as exc:
        raise WorkflowError(str(exc), USAGE) from None


def run_identity(prepared: Prepared) -> str:
    """What a resumed run must match: the source's plan, the overrides and the settings."""
    return _identity(prepared.base_plan, prepared.resolved.overrides, prepared.settings)


def _identity(base_plan: Plan, overrides: object, settings: TrainSettings) -> str:
    from adf.optim.lockfile import plan_hash

    settings = attrs.evolve(settings, steps=0, limits=Limits())
    text = plan_hash(base_plan) + repr(overrides) + repr(attrs.asdict(settings))
    return hashlib.sha256(text.encode()).hexdigest()


class TrainingRun:
    """One run of the trainer in `run_dir`; keeps the trainer to report an interruption."""

    def __init__(self, prepared: Prepared, run_dir: str, on_event: EventSink | None = None):
        self.prepared = prepared
        self.run_dir = run_dir
        self.on_event = on_event
        self.trainer: Trainer | None = None

    async def run(self) -> TrainOutcome:
        """Train (or resume); `TrainError` and `BindError` become `WorkflowError`s."""
        from adf.optim.lockfile import plan_hash
        from adf.optim.trainer import Trainer, TrainError
        from adf.runtime.bindings import BindError, bind

        prepared = self.prepared
        options = attrs.evolve(prepared.run_options, concurrency=prepared.settings.concurrency)
        try:
            check_executor(options)
            async with open_workflow(prepared.start_plan, options) as opened:
                base_dir = os.path.dirname(os.path.abspath(prepared.path))
                bindings = bind(opened.plan, base_dir)
                with open_run_executor(opened, options, base_dir) as executor:
                    self.trainer = Trainer(
                        opened.plan, prepared.splits, opened.session.client, prepared.settings,
                        self.run_dir, bindings, plan_hash=run_identity(prepared),
                        on_event=self.on_event,
                        program={"source": os.path.basename(prepared.path),
                                 "source_hash": prepared.base_plan.source_hash,
                                 "plan_hash": plan_hash(prepared.base_plan)},
                        estimate=prepared.forecast.summary_json(), executor=executor,
                    )
                    outcome = await self.trainer.run(resume=prepared.options.resume)
            _keep_rates(prepared, outcome)
            return outcome
        except TrainError as exc:
            raise WorkflowError(f"training failed: {exc}", FAILED) from None
        except BindError as exc:
            raise WorkflowError(f"cannot load the program's functions: {exc}", FAILED) from None

    def record_interrupt(self, signal_name: str = "SIGINT") -> str | None:
        """Write the report of the finished steps, marked interrupted; why it could not be."""
        if self.trainer is None:
            return None
        from adf.optim.report import write_report
        from adf.optim.runlock import describe_os_error

        report = self.trainer.build_report()
        report["status"] = f"interrupted ({signal_name}) after step {self.trainer.state.step}"
        try:
            write_report(self.run_dir, report)
        except OSError as exc:
            return describe_os_error(exc)
        return None

    def has_checkpoint(self) -> bool:
        return os.path.isfile(os.path.join(self.run_dir, "checkpoint.json"))


@attrs.frozen
class Saved:
    """What a finished run left next to the source."""

    changed: tuple[str, ...] = ()  # parameters whose value changed, sorted
    lock_file: str | None = None
    written: tuple[str, ...] = ()  # literals rewritten in the source (`write`)
    skipped: tuple[tuple[str, str], ...] = ()  # (parameter, why it was not written)
    write_error: str | None = None
    lock_error: str | None = None  # the lock file was not written: why
    lock_conflict: bool = False  # ... because it is not this run's to replace (needs force)


def save_trained(prepared: Prepared, outcome: TrainOutcome, base: LockBase, *,
                 write: bool = False) -> Saved:
    """Write the lock file when a value changed; with `write`, the literals into the source.

    The lock file is replaced only if it is still the one this run started
    from (`base`), or with `force`; otherwise, or when it cannot be written,
    `lock_error` says why and the values stay in the run folder.
    """
    from adf.optim.lockfile import LockConflict, write_lock_guarded
    from adf.optim.runlock import describe_os_error
    from adf.optim.trainer import values_changed
    from adf.optim.writeback import WriteBackError, write_back

    path, base_plan = prepared.path, prepared.base_plan
    scores = outcome.report["scores"]
    trainable = {p.name: outcome.state.values[p.name] for p in base_plan.params if not p.frozen}
    changed = values_changed(base_plan, trainable)
    if not changed:
        return Saved()
    info = {"run": outcome.report_json, "val_before": scores["val_before"],
            "val_after": scores["val_after"], "test_before": scores["test_before"],
            "test_after": scores["test_after"], "status": outcome.report["status"]}
    try:
        lock, base = write_lock_guarded(path, base_plan, trainable, info, base,
                                        force=prepared.options.force)
    except LockConflict as exc:
        return Saved(tuple(sorted(changed)), lock_error=str(exc), lock_conflict=True)
    except OSError as exc:
        return Saved(tuple(sorted(changed)), lock_error=describe_os_error(exc))
    saved = Saved(tuple(sorted(changed)), lock)
    if not write:
        return saved
    source_values = {p.name: param_value(p)
                     for p in base_plan.params if p.name in changed}
    try:
        written = write_back(path, changed, source_values, lambda t: compile_text(t, path))
    except WriteBackError as exc:
        return attrs.evolve(saved, write_error=str(exc))
    if written.changed:
        with open(path, encoding="utf-8") as handle:
            fresh = compile_text(handle.read(), path)
        if fresh is not None:
            write_lock_guarded(path, fresh, trainable, info, base, force=True)
    return attrs.evolve(saved, written=tuple(written.changed), skipped=tuple(written.skipped))
