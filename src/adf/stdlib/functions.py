"""The standard functions callable from `.adf` as `fn name(...) -> T = std.<group>.<name>`.

Takes nothing; gives `FUNCTIONS`: entry name -> a plain Python callable with
the parameters listed in `adf.stdlib.signatures.FUNCTIONS`. The runtime calls
them synchronously with keyword arguments; an exception they raise (e.g. no
integer in the text) becomes a sample error naming the node, never a crash.
The compiler never imports this module; it reads the static signatures.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable
from typing import Any

_INT = re.compile(r"(?<![\w.])[-+]?\d[\d,]*(?!\d)")
_NUMBER = re.compile(r"(?<!\w)[-+]?(?:\d[\d,]*(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?")
_MARKER = re.compile(r"(?:final answer|answer|####)\s*[:=]?", re.IGNORECASE)


def last_int(text: str) -> int:
    """The last integer in the text ("Answer: 1,204" gives 1204)."""
    found = _INT.findall(text)
    if not found:
        raise ValueError(f"no integer in {_quote(text)}")
    return int(found[-1].replace(",", ""))


def last_number(text: str) -> float:
    """The last number (integer, decimal or scientific) in the text."""
    found = _NUMBER.findall(text)
    if not found:
        raise ValueError(f"no number in {_quote(text)}")
    return float(found[-1].replace(",", ""))


def first_line(text: str) -> str:
    """The first non-blank line, stripped ("" for blank text)."""
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def strip(text: str) -> str:
    return text.strip()


def after_marker(text: str) -> str:
    """The text after the last "Answer:" / "Final answer:" / "####" marker, else all of it.

    Only the first non-blank line after the marker is kept, without trailing period.
    """
    matches = list(_MARKER.finditer(text))
    rest = text[matches[-1].end():] if matches else text
    line = first_line(rest)
    return line[:-1].rstrip() if line.endswith(".") else line


def join(items: list[str]) -> str:
    return "\n".join(str(item) for item in items)


def lines(text: str) -> list[str]:
    """The non-blank lines of the text, stripped."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def add(left: Any, right: Any) -> Any:
    """`left + right` for numbers, strings and lists; a list plus a scalar appends it."""
    if isinstance(left, list) and not isinstance(right, list):
        return [*left, right]
    if isinstance(left, list) and isinstance(right, list):
        return [*left, *right]
    return left + right


def append(items: list[str], item: str) -> list[str]:
    return [*items, item]


def eq(left: Any, right: Any) -> bool:
    """`left == right`: numbers by value (`2 == 2.0`), texts and labels exactly."""
    return bool(left == right)


def ne(left: Any, right: Any) -> bool:
    return not eq(left, right)


def lt(left: Any, right: Any) -> bool:
    """`left < right` for two numbers or two texts (a `TypeError` otherwise)."""
    return bool(left < right)


def le(left: Any, right: Any) -> bool:
    return bool(left <= right)


def gt(left: Any, right: Any) -> bool:
    return bool(left > right)


def ge(left: Any, right: Any) -> bool:
    return bool(left >= right)


def and_(left: bool, right: bool) -> bool:
    """`left and right` (both sides are computed: conditions are values, not control flow)."""
    return bool(left) and bool(right)


def or_(left: bool, right: bool) -> bool:
    return bool(left) or bool(right)


def not_(value: bool) -> bool:
    return not value


_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}


def final_answer(answer: str) -> str:
    """A tool for an agent's last step (`finish: [final_answer]`): the answer, stripped."""
    return answer.strip()


def calculator(expression: str) -> str:
    """A tool: evaluate arithmetic (+ - * / // % ** and parentheses) without `eval`.

    Gives the result as text. Models wrap expressions in prose ("the next step is
    12 * 3"), so when the whole text is not arithmetic the longest arithmetic run
    in it is tried. A tool's failure is an observation for the agent, not a
    crash of the sample: what cannot be computed comes back as `error: ...`.
    """
    runs = (run.strip(" .,") for run in _ARITHMETIC_RUN.findall(expression))
    candidates = [expression, *sorted(runs, key=len, reverse=True)]
    problem = ""
    for candidate in candidates:
        if not any(ch.isdigit() for ch in candidate):
            continue
        try:
            return compute(candidate)
        except ValueError as exc:
            problem = problem or str(exc)
    return f"error: {problem or f'no arithmetic expression in {_quote(expression)}'}"


_ARITHMETIC_RUN = re.compile(r"[\d.,()+\-*/%^×÷ ]*\d[\d.,()+\-*/%^×÷ ]*")


def compute(expression: str) -> str:
    """Evaluate one arithmetic expression; `ValueError` says why it cannot be."""
    cleaned = expression.strip().replace("^", "**").replace("×", "*").replace("÷", "/")
    cleaned = cleaned.replace(",", "")
    try:
        tree = ast.parse(cleaned, mode="eval")
    except SyntaxError:
        raise ValueError(f"not an arithmetic expression: {_quote(expression)}") from None
    value = _evaluate(tree.body, expression)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _evaluate(node: ast.expr, source: str) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        if isinstance(node.value, bool):
            raise ValueError(f"not an arithmetic expression: {_quote(source)}")
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left = _evaluate(node.left, source)
        right = _evaluate(node.right, source)
        if isinstance(node.op, ast.Pow) and abs(right) > 100:
            raise ValueError("exponent too large")
        try:
            return _BINARY[type(node.op)](left, right)
        except ZeroDivisionError:
            raise ValueError(f"division by zero in {_quote(source)}") from None
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand, source))
    raise ValueError(f"not an arithmetic expression: {_quote(source)}")


def _quote(text: str) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= 80 else flat[:77] + "...")


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "std.parse.last_int": last_int,
    "std.parse.last_number": last_number,
    "std.parse.first_line": first_line,
    "std.parse.strip": strip,
    "std.parse.after_marker": after_marker,
    "std.text.join": join,
    "std.text.lines": lines,
    "std.op.add": add,
    "std.op.append": append,
    "std.op.eq": eq,
    "std.op.ne": ne,
    "std.op.lt": lt,
    "std.op.le": le,
    "std.op.gt": gt,
    "std.op.ge": ge,
    "std.op.and": and_,
    "std.op.or": or_,
    "std.op.not": not_,
    "std.tools.calculator": calculator,
    "std.tools.final_answer": final_answer,
}
