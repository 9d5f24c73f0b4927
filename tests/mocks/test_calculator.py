"""The calculator tool's evaluator: arithmetic works, everything else is refused without eval."""

from __future__ import annotations

import pytest

from mocks.tools.calculator import MAX_EXPRESSION_CHARS, CalculatorError, evaluate


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("2+3*4", 14),
        ("(2+3)*4", 20),
        ("-3 + +2", -1),
        ("--4", 4),
        ("7/2", 3.5),
        ("7//2", 3),
        ("-7//2", -4),
        ("7 % 3", 1),
        ("2**10", 1024),
        ("2**-1", 0.5),
        ("1.5e3 - 0.5", 1499.5),
        ("0.1 + 0.2", 0.1 + 0.2),
        ("  42  ", 42),
        ("2**4000 // 2**3999", 2),
    ],
)
def test_arithmetic(expression: str, expected: float) -> None:
    result = evaluate(expression)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("__import__('os')", "function call"),
        ("__import__('os').system('true')", "function call"),
        ("(1).__class__", "attribute access"),
        ("x + 1", "a name (x)"),
        ("os", "a name (os)"),
        ("[1][0]", "subscripting"),
        ("'a' * 3", "only int and float"),
        ("True + 1", "only int and float"),
        ("1j * 2", "only int and float"),
        ("1 < 2", "comparison"),
        ("1 and 2", "boolean operator"),
        ("1 << 2", "operator LShift is not allowed"),
        ("~1", "this syntax"),
        ("lambda: 1", "this syntax"),
        ("1/0", "division by zero"),
        ("1//0", "division by zero"),
        ("5 % 0", "division by zero"),
        ("0 ** -1", "division by zero"),
        ("9**9**9", "too large"),
        ("2**100000", "too large"),
        ("10**5000", "too large"),
        ("10.0**400", "too large"),
        ("1e308 * 10", "too large"),
        ("2**4000 * 1.0 * 2**4000", "too large"),
        ("(-8) ** 0.5", "not a real number"),
        ("2 +", "invalid expression"),
        ("", "empty"),
        ("   ", "empty"),
        ("-" * 200 + "1", "nested too deeply"),
        ("1+" * MAX_EXPRESSION_CHARS + "1", "too long"),
    ],
)
def test_refused(expression: str, reason: str) -> None:
    with pytest.raises(CalculatorError) as caught:
        evaluate(expression)
    assert reason in str(caught.value)


def test_non_string_is_refused() -> None:
    with pytest.raises(CalculatorError, match="must be a string"):
        evaluate(42)  # type: ignore[arg-type]
