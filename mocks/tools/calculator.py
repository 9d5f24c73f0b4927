"""Safe arithmetic for the ``calculator`` tool: parse with :mod:`ast`, walk only arithmetic nodes.

Nothing is ever passed to ``eval``. Allowed: int and float literals, ``+ - * / // % **``, parentheses,
unary ``+``/``-``. Everything else (names, calls, attributes, subscripts, strings, booleans, complex
numbers, comparisons, ...) is refused with a :class:`CalculatorError` that says why. Sizes are
bounded so that one expression cannot eat the CPU or memory of a server under soak load.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable

MAX_EXPRESSION_CHARS = 500
MAX_DEPTH = 64
MAX_EXPONENT = 10_000
MAX_INT_BITS = 4096

Number = int | float

_BINARY: dict[type[ast.operator], Callable[[Number, Number], Number]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_UNARY: dict[type[ast.unaryop], Callable[[Number], Number]] = {ast.USub: operator.neg, ast.UAdd: operator.pos}


class CalculatorError(ValueError):
    """An expression that cannot be evaluated; the message is meant for the caller."""


def evaluate(expression: str) -> Number:
    """Evaluate ``expression`` and return an int or a finite float; raises :class:`CalculatorError`."""
    if not isinstance(expression, str):
        raise CalculatorError("the expression must be a string")
    text = expression.strip()
    if not text:
        raise CalculatorError("the expression is empty")
    if len(text) > MAX_EXPRESSION_CHARS:
        raise CalculatorError(f"the expression is too long ({len(text)} characters; at most {MAX_EXPRESSION_CHARS})")
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
        reason = error.msg if isinstance(error, SyntaxError) else "it cannot be parsed"
        raise CalculatorError(f"invalid expression: {reason}") from None
    return _eval(tree.body, 0)


def _eval(node: ast.AST, depth: int) -> Number:
    if depth > MAX_DEPTH:
        raise CalculatorError(f"the expression is nested too deeply (more than {MAX_DEPTH} levels)")
    if isinstance(node, ast.Constant):
        return _literal(node.value)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _check(_UNARY[type(node.op)](_eval(node.operand, depth + 1)))
    if isinstance(node, ast.BinOp):
        left = _eval(node.left, depth + 1)
        right = _eval(node.right, depth + 1)
        if isinstance(node.op, ast.Pow):
            return _power(left, right)
        function = _BINARY.get(type(node.op))
        if function is None:
            raise CalculatorError(f"operator {_describe(node.op)} is not allowed; use + - * / // % **")
        try:
            return _check(function(left, right))
        except ZeroDivisionError:
            raise CalculatorError("division by zero") from None
        except OverflowError:
            raise CalculatorError("the result is too large") from None
    raise CalculatorError(f"{_describe(node)} is not allowed; only numbers, + - * / // % **, "
                          "unary minus and parentheses are")


def _literal(value: object) -> Number:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CalculatorError(f"only int and float numbers are allowed, not {type(value).__name__} {value!r:.40}")
    return _check(value)


def _power(base: Number, exponent: Number) -> Number:
    if abs(exponent) > MAX_EXPONENT:
        raise CalculatorError(f"the exponent {exponent} is too large (at most {MAX_EXPONENT} in magnitude)")
    if (isinstance(base, int) and isinstance(exponent, int) and exponent > 0
            and max(base.bit_length() - 1, 0) * exponent > MAX_INT_BITS):
        raise CalculatorError("the result is too large")
    try:
        result = operator.pow(base, exponent)
    except ZeroDivisionError:
        raise CalculatorError("division by zero (zero raised to a negative power)") from None
    except OverflowError:
        raise CalculatorError("the result is too large") from None
    if isinstance(result, complex):
        raise CalculatorError("the result is not a real number (negative base with a fractional exponent)")
    return _check(result)


def _check(value: Number) -> Number:
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise CalculatorError("the result is too large")
    if isinstance(value, float) and not math.isfinite(value):
        raise CalculatorError("the result is too large (not a finite number)")
    return value


def _describe(node: ast.AST) -> str:
    """Human words for a refused node: 'a name (os)', 'a function call', 'attribute access', ..."""
    match node:
        case ast.Name(id=name):
            return f"a name ({name})"
        case ast.Call():
            return "a function call"
        case ast.Attribute():
            return "attribute access"
        case ast.Subscript():
            return "subscripting"
        case ast.Compare():
            return "a comparison"
        case ast.BoolOp():
            return "a boolean operator"
        case ast.operator() | ast.unaryop():
            return type(node).__name__
        case _:
            return f"this syntax ({type(node).__name__})"
