from __future__ import annotations

import inspect

import pytest

from adf.stdlib import functions, losses, signatures


def test_every_signature_has_an_implementation_with_matching_parameters() -> None:
    assert set(signatures.FUNCTIONS) == set(functions.FUNCTIONS)
    for name, (params, _result) in signatures.FUNCTIONS.items():
        declared = [p for p, _ in params]
        actual = list(inspect.signature(functions.FUNCTIONS[name]).parameters)
        assert actual == declared, name


def test_every_metric_has_an_implementation_accepting_its_options() -> None:
    assert set(signatures.METRICS) == set(losses.METRICS)
    for name, options in signatures.METRICS.items():
        parameters = inspect.signature(losses.METRICS[name]).parameters
        assert list(parameters)[:2] == ["pred", "target"], name
        assert set(options) <= set(parameters), name


def test_parsers() -> None:
    assert functions.last_int("I have 3 apples and 1,204 pears. Answer: 12") == 12
    with pytest.raises(ValueError, match="no integer"):
        functions.last_int("none")
    assert functions.last_number("x = -2.5e1") == -25.0
    assert functions.first_line("\n\n  hello \nworld") == "hello"
    assert functions.after_marker("reasoning...\nFinal Answer: LOC.\nmore") == "LOC"
    assert functions.after_marker("just text") == "just text"
    assert functions.lines(" a \n\n b") == ["a", "b"]
    assert functions.join(["a", "b"]) == "a\nb"


def test_ops_and_calculator() -> None:
    assert functions.add([1], [2]) == [1, 2]
    assert functions.add(["a"], "b") == ["a", "b"]
    assert functions.add(2, 3) == 5
    assert functions.append(["a"], "b") == ["a", "b"]
    assert functions.calculator("(2 + 3) * 4 ^ 2") == "80"
    assert functions.calculator("7 / 2") == "3.5"
    assert functions.calculator("The next step is 12 * (3 + 4).") == "84"
    for bad in ("__import__('os')", "1/0", "2 ** 1000"):
        with pytest.raises(ValueError):
            functions.compute(bad)
        assert functions.calculator(bad).startswith("error: ")
    assert functions.calculator("I am done") == "error: no arithmetic expression in 'I am done'"


def test_metrics() -> None:
    assert losses.exact_match(" Paris. ", "paris") == 1.0
    assert losses.exact_match(15, "15") == 1.0
    assert losses.exact_match(15.0, 15) == 1.0
    assert losses.exact_match("14", 15) == 0.0
    assert losses.numeric_match("about 3.14", 3.1416, tolerance=0.01) == 1.0
    assert losses.numeric_match(3.0, 3.5, tolerance=0.01) == 0.0
    assert losses.numeric_match("n/a", 3) == (0.0, "the prediction is not a number")
    assert losses.label_match("Loc.", "LOC") == 1.0
    assert losses.label_match("NUM", "LOC") == 0.0
    assert losses.f1("the Eiffel Tower", "Eiffel Tower in Paris") == pytest.approx(2 / 3)
    assert losses.f1("", "") == 1.0
    assert losses.contains("It was World War II, clearly.", "World War II") == 1.0
    assert losses.contains("World War III", "World War II") == 0.0
