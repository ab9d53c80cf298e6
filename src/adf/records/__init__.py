"""Frozen records without attrs at run time: the base class and the two operations.

Takes nothing; gives `Record` (the base of every generated record class:
frozen `__setattr__`/`__delattr__`, `__repr__`, pickling), `replace(obj,
**changes)` (a copy with some fields changed: `attrs.evolve` for records)
and `fields(cls)` (a record class's `Field`s: name, default, factory,
metadata), `has(cls)`, `NOTHING` and `FrozenInstanceError`.

The IR (the AST, the plan, diagnostics and every record `adfc check`
imports) is declared as attrs classes in `*_spec.py` modules; `python -m
adf.records` turns each into the module of the same name without `_spec`,
holding plain `__slots__` classes with the same names, fields, defaults,
constructor, equality, hash, order and repr (`adf.records.generate`). Those
modules import no attrs: importing attrs costs about four times a bare
interpreter start, and creating ~80 attrs classes as much again, which an
`adfc check` would pay on every run. `replace` and `fields` also accept
attrs classes (they then defer to attrs), so one call serves every record.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any, ClassVar, TypeVar

    _T = TypeVar("_T")


class FrozenInstanceError(AttributeError):
    """Raised when a field of a record is set or deleted (records are frozen)."""

    msg = "can't set attribute"


class _Nothing:
    """The marker of a field without a default (`attrs.NOTHING`'s counterpart)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NOTHING"

    def __reduce__(self) -> str:
        return "NOTHING"


NOTHING: Any = _Nothing()
_NO_METADATA: Mapping[str, object] = {}


class Field:
    """One field of a record class, as `fields(cls)` gives it."""

    __slots__ = ("default", "eq", "factory", "metadata", "name", "repr")

    def __init__(self, name: str, default: object = NOTHING, factory: Any = None,
                 metadata: Mapping[str, object] = _NO_METADATA, eq: bool = True,
                 repr: bool = True) -> None:
        self.name = name
        self.default = default  # NOTHING when the field has none (or has a factory)
        self.factory = factory  # called for a default value, or None
        self.metadata = metadata
        self.eq = eq  # compared (and hashed)
        self.repr = repr  # shown by repr

    @property
    def required(self) -> bool:
        return self.default is NOTHING and self.factory is None

    def __repr__(self) -> str:
        return f"Field({self.name!r}, default={self.default!r}, factory={self.factory!r})"


class Record:
    """The base of the generated record classes: frozen, repr, pickling."""

    __slots__ = ()
    if TYPE_CHECKING:
        __record_fields__: ClassVar[tuple[Field, ...]]
    else:  # no annotation at run time: `typing.get_type_hints` of a record sees its own only
        __record_fields__ = ()

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(name)

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(name)

    def __repr__(self) -> str:
        shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in self.__record_fields__
                          if f.repr)
        return f"{type(self).__name__}({shown})"

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return type(self), tuple(getattr(self, f.name) for f in self.__record_fields__)


def _generated(cls: type) -> bool:
    return isinstance(cls, type) and issubclass(cls, Record)


def has(cls: type) -> bool:
    """Whether `cls` is a record class: a generated one or an attrs class."""
    return _generated(cls) or getattr(cls, "__attrs_attrs__", None) is not None


def fields(cls: type) -> tuple[Field, ...]:
    """The fields of a record class in declaration order (an attrs class: `attrs.fields`)."""
    if _generated(cls):
        own: tuple[Field, ...] = cls.__record_fields__  # type: ignore[attr-defined]
        return own
    import attrs

    found: list[Field] = []
    for f in attrs.fields(cls):
        if isinstance(f.default, attrs.Factory):  # type: ignore[arg-type]
            found.append(Field(f.name, NOTHING, f.default.factory, f.metadata, bool(f.eq),
                               bool(f.repr)))
        else:
            found.append(Field(f.name, NOTHING if f.default is attrs.NOTHING else f.default,
                               None, f.metadata, bool(f.eq), bool(f.repr)))
    return tuple(found)


def replace(obj: _T, **changes: Any) -> _T:
    """A copy of the record `obj` with `changes` applied (an attrs instance: `attrs.evolve`)."""
    cls = type(obj)
    if not _generated(cls):
        import attrs

        evolved: _T = attrs.evolve(obj, **changes)  # type: ignore[misc]
        return evolved
    names: tuple[Field, ...] = cls.__record_fields__  # type: ignore[attr-defined]
    for f in names:
        if f.name not in changes:
            changes[f.name] = getattr(obj, f.name)
    if len(changes) != len(names):
        unknown = sorted(set(changes) - {f.name for f in names})
        raise TypeError(f"{cls.__name__} has no field {', '.join(unknown)}")
    made: _T = cls(**changes)
    return made
