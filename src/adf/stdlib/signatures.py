"""Static signatures of the standard library, readable without importing it.

Takes nothing; gives `FUNCTIONS` and `METRICS`: entry name -> parameters and
result, with types written in `.adf` syntax. The compiler type-checks calls
to `std.*` against this table; `adfc check` never imports the implementations
(`adf.stdlib.functions`, `adf.stdlib.losses`), which the runtime loads.
A test checks that every entry here has an implementation with a matching
arity, and the reverse.
"""

from __future__ import annotations

Signature = tuple[tuple[tuple[str, str], ...], str]

FUNCTIONS: dict[str, Signature] = {
    "std.parse.last_int": ((("text", "str"),), "int"),
    "std.parse.last_number": ((("text", "str"),), "float"),
    "std.parse.first_line": ((("text", "str"),), "str"),
    "std.parse.strip": ((("text", "str"),), "str"),
    "std.parse.after_marker": ((("text", "str"),), "str"),
    "std.text.join": ((("items", "list[str]"),), "str"),
    "std.text.lines": ((("text", "str"),), "list[str]"),
    "std.op.add": ((("left", "any"), ("right", "any")), "any"),
    "std.op.append": ((("items", "list[str]"), ("item", "str")), "list[str]"),
    "std.op.eq": ((("left", "any"), ("right", "any")), "bool"),
    "std.op.ne": ((("left", "any"), ("right", "any")), "bool"),
    "std.op.lt": ((("left", "any"), ("right", "any")), "bool"),
    "std.op.le": ((("left", "any"), ("right", "any")), "bool"),
    "std.op.gt": ((("left", "any"), ("right", "any")), "bool"),
    "std.op.ge": ((("left", "any"), ("right", "any")), "bool"),
    "std.op.and": ((("left", "bool"), ("right", "bool")), "bool"),
    "std.op.or": ((("left", "bool"), ("right", "bool")), "bool"),
    "std.op.not": ((("value", "bool"),), "bool"),
    "std.tools.calculator": ((("expression", "str"),), "str"),
    "std.tools.final_answer": ((("answer", "str"),), "str"),
}

# What conditions compile to: operator -> the entry computing it
OPERATORS: dict[str, str] = {
    "==": "std.op.eq", "!=": "std.op.ne", "<": "std.op.lt", "<=": "std.op.le",
    ">": "std.op.gt", ">=": "std.op.ge", "and": "std.op.and", "or": "std.op.or",
    "not": "std.op.not",
}

# Every metric is called as metric(pred, target, **options) and gives a score in [0, 1].
# The options map names an option to its type.
METRICS: dict[str, dict[str, str]] = {
    "std.loss.exact_match": {},
    "std.loss.numeric_match": {"tolerance": "float"},
    "std.loss.label_match": {},
    "std.loss.f1": {},
    "std.loss.contains": {},
}
