"""The standard metrics callable from `.adf` as `loss name = std.loss.<metric>(pred, target)`.

Takes nothing; gives `METRICS`: entry name -> `metric(pred, target, **options)`
returning a score in [0, 1], or `(score, explanation)`. The runtime turns a
score into a textual loss that states the prediction and the expected answer
(`adf.runtime.scoring`); custom `py "module:function"` metrics follow the same
convention.

Normalisation: strings are compared lowercased, with surrounding whitespace,
quotes and a trailing period removed and runs of whitespace collapsed;
numbers compare by value (15, 15.0 and "15" are equal).
"""

from __future__ import annotations

import json
import re
import string
from collections import Counter
from collections.abc import Callable
from typing import Any

Metric = Callable[..., "float | tuple[float, str]"]

_NUMBER = re.compile(r"[-+]?(?:\d[\d,]*(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?")
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalise(value: Any) -> str:
    """The canonical text of a value for exact comparison."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        number = float(value)
        return str(int(number)) if number.is_integer() else repr(number)
    if isinstance(value, str):
        text = " ".join(value.split()).lower()
        text = text.strip("\"'`")
        text = text[:-1].rstrip() if text.endswith(".") else text
        parsed = _as_number(text)
        return normalise(parsed) if parsed is not None and _NUMBER.fullmatch(text) else text
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str).lower()


def exact_match(pred: Any, target: Any) -> float:
    return 1.0 if normalise(pred) == normalise(target) else 0.0


def numeric_match(pred: Any, target: Any, tolerance: float = 1e-9) -> float | tuple[float, str]:
    """1 when |pred - target| <= tolerance, absolute or relative to |target|."""
    left, right = _as_number(pred), _as_number(target)
    if right is None:
        return 0.0, f"the expected answer {target!r} is not a number"
    if left is None:
        return 0.0, "the prediction is not a number"
    diff = abs(left - right)
    ok = diff <= tolerance or diff <= tolerance * abs(right)
    return 1.0 if ok else 0.0


def label_match(pred: Any, target: Any) -> float:
    """Case- and punctuation-insensitive label equality ("Loc." matches LOC)."""
    return 1.0 if _label(pred) == _label(target) else 0.0


def f1(pred: Any, target: Any) -> float:
    """Token-level F1 after lowercasing and removing punctuation and articles."""
    predicted = _tokens(pred)
    expected = _tokens(target)
    if not predicted or not expected:
        return 1.0 if predicted == expected else 0.0
    common = Counter(predicted) & Counter(expected)
    overlap = sum(common.values())
    if overlap == 0:
        return 0.0
    precision = overlap / len(predicted)
    recall = overlap / len(expected)
    return 2 * precision * recall / (precision + recall)


def contains(pred: Any, target: Any) -> float:
    """1 when the normalised expected answer occurs in the normalised prediction."""
    expected = " ".join(_tokens(target))
    predicted = " ".join(_tokens(pred))
    if not expected:
        return 0.0
    return 1.0 if re.search(r"(?<!\S)" + re.escape(expected) + r"(?!\S)", predicted) else 0.0


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        found = _NUMBER.findall(value)
        if found:
            try:
                return float(found[-1].replace(",", ""))
            except ValueError:
                return None
    return None


def _label(value: Any) -> str:
    return re.sub(r"[\W_]+", "", str(value)).lower()


def _tokens(value: Any) -> list[str]:
    text = value if isinstance(value, str) else normalise(value)
    text = text.lower()
    text = "".join(" " if ch in string.punctuation else ch for ch in text)
    text = _ARTICLES.sub(" ", text)
    return text.split()


METRICS: dict[str, Metric] = {
    "std.loss.exact_match": exact_match,
    "std.loss.numeric_match": numeric_match,
    "std.loss.label_match": label_match,
    "std.loss.f1": f1,
    "std.loss.contains": contains,
}
