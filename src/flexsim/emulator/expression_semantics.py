"""Runtime meaning of the expression language: each comparison compiled into a closure.

:mod:`flexsim.emulator.expressions` parses; this module decides what the operators do (the
rules are listed in that module's docstring) and builds fast closures for the common shapes,
so that evaluating an expression does no parsing and little dispatch.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

Evaluator = Callable[[Mapping[str, Any]], bool]
Getter = Callable[[Mapping[str, Any]], Any]

def all_of(fns: list[Evaluator]) -> Evaluator:
    """AND of ``fns``, short-circuiting left to right."""
    if len(fns) == 1:
        return fns[0]
    if len(fns) == 2:
        a, b = fns
        return lambda ctx: a(ctx) and b(ctx)
    chain = tuple(fns)  # a loop, not nested closures: long chains must not recurse deeply

    def all_true(ctx: Mapping[str, Any]) -> bool:
        for fn in chain:  # noqa: SIM110 - a plain loop is faster than all() over a generator
            if not fn(ctx):
                return False
        return True
    return all_true


def any_of(fns: list[Evaluator]) -> Evaluator:
    """OR of ``fns``, short-circuiting left to right."""
    if len(fns) == 1:
        return fns[0]
    if len(fns) == 2:
        a, b = fns
        return lambda ctx: a(ctx) or b(ctx)
    chain = tuple(fns)

    def any_true(ctx: Mapping[str, Any]) -> bool:
        for fn in chain:  # noqa: SIM110 - faster than any() over a generator
            if fn(ctx):
                return True
        return False
    return any_true


_LOOKUP_ERRORS = (KeyError, TypeError, IndexError)


def getter(path: tuple[str | int, ...]) -> Getter:
    """A function resolving ``path`` in a context; None (NULL) when anything is missing."""
    if all(isinstance(p, str) for p in path):
        if len(path) == 1:
            (k0,) = path

            def get1(ctx: Any) -> Any:
                try:
                    return ctx[k0]
                except _LOOKUP_ERRORS:
                    return None
            return get1
        if len(path) == 2:
            k0, k1 = path

            def get2(ctx: Any) -> Any:
                try:
                    return ctx[k0][k1]
                except _LOOKUP_ERRORS:
                    return None
            return get2

        def get_str(ctx: Any) -> Any:
            try:
                for part in path:
                    ctx = ctx[part]
            except _LOOKUP_ERRORS:
                return None
            return ctx
        return get_str

    def get_any(ctx: Any) -> Any:
        value = ctx
        for part in path:
            if isinstance(part, int):
                # a string is indexable too, but only JSON arrays take [n]
                if type(value) is not list or part >= len(value):
                    return None
                value = value[part]
            else:
                try:
                    value = value[part]
                except _LOOKUP_ERRORS:
                    return None
        return value
    return get_any


def _kind(v: Any) -> str | None:
    """'s' string, 'n' number, 'b' boolean, 'a' array, None for NULL and objects."""
    t = type(v)
    if t is str:
        return "s"
    if t is bool:
        return "b"
    if t is int or t is float:
        return "n"
    if t is list:
        return "a"
    return None


def _same_scalar(a: Any, b: Any) -> bool:
    k = _kind(a)
    return k is not None and k != "a" and k == _kind(b)


def _eq(a: Any, b: Any) -> bool:
    return _same_scalar(a, b) and a == b


def _member(v: Any, arr: list[Any]) -> bool:
    """Whether scalar ``v`` equals an element of ``arr`` under :func:`_eq`."""
    t = type(v)
    if t is str:
        return v in arr  # only a str equals a str
    if t is int or t is float:
        return any((type(x) is int or type(x) is float) and x == v for x in arr)
    if t is bool:
        return any(x is v for x in arr)
    return False


def _in(a: Any, b: Any) -> bool:
    if _kind(b) != "a":
        return False
    if _kind(a) == "a":
        return any(_member(e, b) for e in a)
    return _member(a, b)


def _not_in(a: Any, b: Any) -> bool:
    if _kind(b) != "a" or a is None or _kind(a) is None:
        return False
    if _kind(a) == "a":
        return not any(_member(e, b) for e in a)
    return not _member(a, b)


def _ordered(a: Any, b: Any) -> bool:
    k = _kind(a)
    return (k == "s" or k == "n") and k == _kind(b)


_TESTS: dict[str, Callable[[Any, Any], bool]] = {
    "==": _eq,
    "!=": lambda a, b: _same_scalar(a, b) and a != b,
    "<": lambda a, b: _ordered(a, b) and a < b,
    ">": lambda a, b: _ordered(a, b) and a > b,
    "<=": lambda a, b: _ordered(a, b) and a <= b,
    ">=": lambda a, b: _ordered(a, b) and a >= b,
    "CONTAINS": lambda a, b: type(a) is str and type(b) is str and b in a,
    "HAS": lambda a, b: _kind(a) == "a" and _kind(b) not in (None, "a") and _member(b, a),
    "IN": _in,
    "NOT IN": _not_in,
}


def compile_comparison(op: str, left: tuple[str, Any, str],
                       right: tuple[str, Any, str]) -> Evaluator:
    """The closure for ``left op right``; operands are ``("const", value, text)`` or
    ``("key", getter, text)``. The common ``key OP constant`` shapes get specialised closures.
    """
    test = _TESTS[op]
    lkind, lval, _ = left
    rkind, rval, _ = right
    if lkind == "const" and rkind == "const":
        result = test(lval, rval)
        return lambda ctx: result
    if lkind == "key" and rkind == "const":
        fast = _fast_key_const(op, lval, rval)
        if fast is not None:
            return fast
        return lambda ctx: test(lval(ctx), rval)
    if lkind == "const":
        if op in ("IN", "NOT IN") and type(lval) is str:
            # a str is in a list exactly when Python's `in` says so
            if op == "IN":
                return lambda ctx: type(v := rval(ctx)) is list and lval in v
            return lambda ctx: type(v := rval(ctx)) is list and lval not in v
        return lambda ctx: test(lval, rval(ctx))
    return lambda ctx: test(lval(ctx), rval(ctx))


_NUMERIC_TESTS = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, ">": operator.gt,
                  "<=": operator.le, ">=": operator.ge}


def _fast_key_const(op: str, get: Getter, c: Any) -> Evaluator | None:
    """Closures with the type checks folded in, for the usual ``key OP constant`` shapes."""
    t = type(c)
    if (t is int or t is float) and op in _NUMERIC_TESTS:
        cmp = _NUMERIC_TESTS[op]
        return lambda ctx: ((tv := type(v := get(ctx))) is int or tv is float) and cmp(v, c)
    if t is list and op in ("IN", "NOT IN"):
        return _fast_in_array(op == "IN", get, c)
    if t is not str:
        return None
    # Only a str compares equal to a str, so Python's == and `in` are exact here.
    if op == "==":
        return lambda ctx: get(ctx) == c
    if op == "!=":
        return lambda ctx: type(v := get(ctx)) is str and v != c
    if op in _NUMERIC_TESTS:
        cmp = _NUMERIC_TESTS[op]
        return lambda ctx: type(v := get(ctx)) is str and cmp(v, c)
    if op == "HAS":
        return lambda ctx: type(v := get(ctx)) is list and c in v
    if op == "CONTAINS":
        return lambda ctx: type(v := get(ctx)) is str and c in v
    return None


def _fast_in_array(positive: bool, get: Getter, arr: list[Any]) -> Evaluator:
    """``key IN [...]`` / ``key NOT IN [...]`` with string members looked up in a set."""
    strings = frozenset(x for x in arr if type(x) is str)

    def test(ctx: Mapping[str, Any]) -> bool:
        v = get(ctx)
        if type(v) is str:
            return (v in strings) is positive
        return _in(v, arr) if positive else _not_in(v, arr)
    return test
