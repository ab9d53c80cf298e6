"""The generated record modules: up to date, and each class behaves like its attrs declaration."""

from __future__ import annotations

import copy
import importlib
import pickle
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import attrs
import pytest

from adf import records
from adf.records.generate import COMMAND, PACKAGE, SpecError, render, spec_paths, target_of

SPECS = spec_paths()


def _module(path: Path) -> ModuleType:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return importlib.import_module(".".join(parts))


def _pairs() -> list[tuple[type, type]]:
    """(declared attrs class, generated class) for every record of every spec module."""
    found = []
    for spec in SPECS:
        declared, generated = _module(spec), _module(target_of(spec))
        for name, cls in vars(declared).items():
            if isinstance(cls, type) and attrs.has(cls) and cls.__module__ == declared.__name__:
                found.append((cls, getattr(generated, name)))
    return found


PAIRS = _pairs()


def _ids(pair: tuple[type, type]) -> str:
    return f"{pair[0].__module__}.{pair[0].__name__}"


def test_there_are_declarations() -> None:
    assert len(SPECS) >= 1 and len(PAIRS) >= 40


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.name)
def test_generated_module_is_fresh(spec: Path) -> None:
    assert target_of(spec).read_text(encoding="utf-8") == render(spec), f"run: {COMMAND}"


def _name(factory: object) -> object:
    return getattr(factory, "__qualname__", factory)


def _required(cls: type) -> list[str]:
    return [f.name for f in attrs.fields(cls) if f.default is attrs.NOTHING]


@pytest.mark.parametrize("pair", PAIRS, ids=_ids)
def test_fields_defaults_and_match_args(pair: tuple[type, type]) -> None:
    declared, generated = pair
    assert records.has(generated) and records.has(declared)
    assert [f.name for f in records.fields(generated)] == [f.name for f in attrs.fields(declared)]
    assert generated.__match_args__ == declared.__match_args__  # type: ignore[attr-defined]
    for mine, theirs in zip(records.fields(generated), records.fields(declared), strict=True):
        # a factory is the declaring module's own class or function: compared by name
        assert (mine.default, _name(mine.factory), dict(mine.metadata), mine.eq, mine.repr) == (
            theirs.default, _name(theirs.factory), dict(theirs.metadata), theirs.eq, theirs.repr)
    values = [f"v{i}" for i, _ in enumerate(_required(declared))]
    made, expected = generated(*values), declared(*values)
    for field in attrs.fields(declared):  # defaults (by repr: a factory makes its module's class)
        assert repr(getattr(made, field.name)) == repr(getattr(expected, field.name))
    assert repr(made) == repr(expected)
    assert not hasattr(made, "__dict__")
    assert ("__weakref__" in generated.__slots__) == ("__weakref__" in declared.__slots__)  # type: ignore[attr-defined]


@pytest.mark.parametrize("pair", PAIRS, ids=_ids)
def test_equality_hash_frozen_pickle_replace(pair: tuple[type, type]) -> None:
    declared, generated = pair
    names = [f.name for f in attrs.fields(declared)]
    values = [f"v{i}" for i in range(len(names))]
    made = generated(*values)
    same = generated(**dict(zip(names, values, strict=True)))
    compares = "__eq__" in vars(declared)
    assert (made == same) is compares and (made == declared(*values)) is False
    if compares:
        assert hash(made) == hash(same)
        compared = [f.name for f in attrs.fields(declared) if f.eq][-1]
        changed = records.replace(made, **{compared: "other"})
        assert made != changed
        for name in names:  # a field left out of equality changes nothing, as declared
            one = {name: "other"}
            assert (made == records.replace(made, **one)) == (
                declared(*values) == attrs.evolve(declared(*values), **one))
    for name in names:
        with pytest.raises(records.FrozenInstanceError):
            setattr(made, name, "x")
        with pytest.raises(AttributeError):
            delattr(made, name)
    assert repr(pickle.loads(pickle.dumps(made))) == repr(made)
    assert repr(copy.deepcopy(made)) == repr(made)
    moved = records.replace(made, **{names[0]: "new"})
    evolved = attrs.evolve(declared(*values), **{names[0]: "new"})
    assert type(moved) is generated and repr(moved) == repr(evolved)
    with pytest.raises(TypeError):
        records.replace(made, not_a_field=1)


@pytest.mark.parametrize("pair", [p for p in PAIRS if "__lt__" in vars(p[0])], ids=_ids)
def test_order(pair: tuple[type, type]) -> None:
    declared, generated = pair
    size = len(attrs.fields(declared))
    rows = [tuple((i * 7 + j * 3) % 5 for j in range(size)) for i in range(6)]
    for a in rows:
        for b in rows:
            for op in ("__lt__", "__le__", "__gt__", "__ge__"):
                assert getattr(generated(*a), op)(generated(*b)) == getattr(declared(*a), op)(declared(*b))


def test_replace_and_fields_accept_attrs_classes() -> None:
    @attrs.frozen
    class Point:
        x: int
        y: int = attrs.field(factory=lambda: 3)

    assert records.replace(Point(1), x=2) == Point(2, 3)
    assert [(f.name, f.required) for f in records.fields(Point)] == [("x", True), ("y", False)]


def test_declarations_the_generator_cannot_honour_are_refused(tmp_path: Path) -> None:
    bad = {
        "validator": "    x: int = attrs.field(validator=attrs.validators.instance_of(int))\n",
        "kw_only": "    x: int = attrs.field(kw_only=True)\n",
    }
    for name, line in bad.items():
        spec = tmp_path / f"{name}_spec.py"
        spec.write_text("from __future__ import annotations\n\nimport attrs\n\n\n"
                        f"@attrs.frozen\nclass A:\n{line}", encoding="utf-8")
        with pytest.raises(SpecError, match=name):
            render_in(spec)
    spec = tmp_path / "define_spec.py"
    spec.write_text("from __future__ import annotations\n\nimport attrs\n\n\n"
                    "@attrs.define\nclass A:\n    x: int\n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"attrs\.frozen"):
        render_in(spec)


def render_in(spec: Path) -> str:
    """`render` for a spec outside the package (its path is shown relative to the file)."""
    import adf.records.generate as generate

    saved = generate.PACKAGE
    generate.PACKAGE = spec.parent / "adf"
    try:
        return render(spec)
    finally:
        generate.PACKAGE = saved


def _attrs_loaded_by(code: str, cwd: Path) -> list[str]:
    """The attrs modules a fresh interpreter has loaded after running `code`."""
    probe = code + ("\nimport sys\nprint(sorted(m for m in sys.modules "
                    "if m.split('.')[0] in ('attr', 'attrs')))\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                          cwd=cwd, timeout=300)
    loaded: list[str] = eval(done.stdout.strip().splitlines()[-1])
    return loaded


def test_generated_modules_import_no_attrs(tmp_path: Path) -> None:
    modules = [".".join(target_of(s).relative_to(PACKAGE.parent).with_suffix("").parts)
               for s in SPECS]
    assert _attrs_loaded_by("".join(f"import {m}\n" for m in modules), tmp_path) == []
