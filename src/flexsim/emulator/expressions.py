"""TaskRouter's expression language: parse once into Python closures, evaluate many times.

Grammar (keywords are case-insensitive)::

    expression := and_expr (OR and_expr)*
    and_expr   := primary (AND primary)*
    primary    := "(" expression ")" | operand operator operand
    operator   := == | = | != | < | > | <= | >= | CONTAINS | HAS | >- | IN | <- | NOT IN
    operand    := key | constant | "[" [constant ("," constant)*] "]"
    constant   := 'text' | "text" | integer | decimal | true | false

A key is a dotted path with optional ``[n]`` list indexes (``routing.skills``,
``object.array[2]``), resolved against the nested mapping passed to :meth:`Expression.evaluate`.

Choices where Twilio's documentation is silent (the emulator's README repeats them):

- AND binds tighter than OR (``a OR b AND c`` is ``a OR (b AND c)``); the docs state no
  precedence, so clients should parenthesise mixed expressions anyway.
- A missing key, or a key holding JSON ``null``, is NULL. Every comparison with NULL is false,
  **including** ``!=`` and ``NOT IN`` (``lang != 'fr'`` is false for a task without ``lang``).
- Numbers compare numerically (``1 == 1.0``); strings compare lexicographically and
  case-sensitively; values of different types (``'1' == 1``, ``true == 1``) compare false,
  for every operator including ``!=``. Booleans support only ``==`` and ``!=``.
- A scalar operator (``==`` ... ``>=``, ``CONTAINS``) with an array or object operand is false.
  ``CONTAINS`` is a substring test on two strings.
- ``HAS`` needs an array on the left and a scalar on the right. ``IN`` / ``NOT IN`` need an
  array on the right; when the left is an array too, ``IN`` is true if any of its elements is in
  the right array and ``NOT IN`` is true if none is.
- There is no ``NOT`` operator other than ``NOT IN``, and no bare boolean key (``vip`` alone):
  every condition is a comparison, ``1==1`` being the always-true idiom.
- ``-`` is only accepted as the sign of a number; a hyphen inside a key is a syntax error.
  Operator aliases are read greedily: ``x>-1`` is ``x HAS 1``; write ``x > -1``.
- Arrays are Python lists, as ``json.loads`` builds them; objects (dicts) are neither scalars
  nor arrays, so every operator on them is false.
- Inside a quoted string a backslash escapes the enclosing quote or a backslash; a quote of the
  other kind needs no escape (``"it's"``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from flexsim.emulator.expression_semantics import (
    Evaluator,
    all_of,
    any_of,
    compile_comparison,
    getter,
)

__all__ = ["Expression", "ExpressionError", "parse"]

MAX_NESTING = 64  # parenthesis depth; keeps parsing and evaluation far from Python's stack limit


class ExpressionError(ValueError):
    """An expression that does not parse; the message names the problem and its position."""


class Expression:
    """A parsed expression, compiled into closures.

    ``source`` is the text as given, ``keys`` the key paths it references as written
    (``{"routing.skills", "object.array[2]"}``), ``roots`` their first segments and
    ``reads_worker_channels`` whether a key reads ``worker.channel...`` (routing then builds
    the channel part of the worker context).
    """

    __slots__ = ("source", "keys", "roots", "reads_worker_channels", "_fn")

    def __init__(self, source: str, fn: Evaluator, keys: frozenset[str], roots: frozenset[str]):
        self.source = source
        self.keys = keys
        self.roots = roots
        self.reads_worker_channels = any(k.startswith("worker.channel") for k in keys)
        self._fn = fn

    def evaluate(self, context: Mapping[str, Any]) -> bool:
        """Whether the expression holds for ``context`` (never raises for any context)."""
        return self._fn(context)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Expression) and other.source == self.source

    def __hash__(self) -> int:
        return hash(self.source)

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"


def parse(text: str, *, require_prefix: bool = False,
          prefixes: Iterable[str] | None = None) -> Expression:
    """Parse ``text`` into an :class:`Expression`, or raise :class:`ExpressionError`.

    :param require_prefix: every key must start with ``task.`` or ``worker.`` (workflow
        target expressions).
    :param prefixes: alternatively, the first key segments allowed (``["workers"]`` for
        ``skip_if``); overrides ``require_prefix``.
    Results are cached, so parsing the same text again is cheap and returns the same object.
    """
    if not isinstance(text, str):
        raise ExpressionError(f"an expression must be a string, not {type(text).__name__}")
    allowed = tuple(prefixes) if prefixes is not None else (
        ("task", "worker") if require_prefix else ())
    return _parse_cached(text, allowed)


@functools.lru_cache(maxsize=4096)
def _parse_cached(text: str, prefixes: tuple[str, ...]) -> Expression:
    parser = _Parser(text, _tokenize(text), prefixes)
    fn = parser.parse()
    return Expression(text, fn, frozenset(parser.keys), frozenset(parser.roots))


# --- tokens -----------------------------------------------------------------------------

class _Tok(NamedTuple):
    kind: str  # const, key, op, and, or, not, (, ), [, ], ",", end
    value: Any  # constant value, key path tuple, or canonical operator
    pos: int
    text: str  # as written, for messages


_KEYWORDS = {"AND": ("and", "AND"), "OR": ("or", "OR"), "NOT": ("not", "NOT"),
             "IN": ("op", "IN"), "HAS": ("op", "HAS"), "CONTAINS": ("op", "CONTAINS"),
             "TRUE": ("const", True), "FALSE": ("const", False)}
_ALIASES = {"=": "==", ">-": "HAS", "<-": "IN"}
_TOKEN_RE = re.compile(r"""
    (?P<ws>\s+)
  | (?P<num>-?\d+(?:\.\d+)?)
  | (?P<op>==|!=|<=|>=|>-|<-|<|>|=)
  | (?P<punct>[()\[\],])
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
""", re.VERBOSE)
_SEGMENT_RE = re.compile(r"\.([A-Za-z0-9_]+)|\[(\d+)\]")
_WORD_CHAR = re.compile(r"[A-Za-z0-9_.]")


def _error(message: str, pos: int, text: str) -> ExpressionError:
    return ExpressionError(f'{message} at position {pos} in "{text}"')


def _tokenize(text: str) -> list[_Tok]:
    """Split ``text`` into tokens, raising on characters and shapes the language lacks."""
    toks: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in "'\"":
            value, end = _scan_string(text, i)
            toks.append(_Tok("const", value, i, text[i:end]))
            i = end
            continue
        m = _TOKEN_RE.match(text, i)
        if m is None:
            what = "hyphens are only allowed in quoted strings" if ch == "-" else \
                f"unexpected character {ch!r}"
            raise _error(what, i, text)
        kind, word, end = m.lastgroup, m.group(), m.end()
        if kind == "num":
            if end < n and _WORD_CHAR.match(text, end):
                raise _error(f"invalid number {text[i:end + 1]!r}", i, text)
            toks.append(_Tok("const", float(word) if "." in word else int(word), i, word))
        elif kind == "op":
            toks.append(_Tok("op", _ALIASES.get(word, word), i, word))
        elif kind == "punct":
            toks.append(_Tok(word, word, i, word))
        elif kind == "ident":
            keyword = _KEYWORDS.get(word.upper())
            if keyword and not text.startswith(".", end):
                toks.append(_Tok(keyword[0], keyword[1], i, word))
            else:
                path, end = _scan_key(text, word, end)
                toks.append(_Tok("key", path, i, text[i:end]))
        i = end
    toks.append(_Tok("end", None, n, ""))
    return toks


def _scan_string(text: str, start: int) -> tuple[str, int]:
    quote, out, i = text[start], [], start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in (quote, "\\"):
            out.append(text[i + 1])
            i += 2
        elif ch == quote:
            return "".join(out), i + 1
        else:
            out.append(ch)
            i += 1
    raise _error("unterminated string", start, text)


def _scan_key(text: str, first: str, i: int) -> tuple[tuple[str | int, ...], int]:
    path: list[str | int] = [first]
    while i < len(text) and text[i] in ".[":
        m = _SEGMENT_RE.match(text, i)
        if m is None:
            if text[i] == ".":
                raise _error("expected a key name after '.'", i + 1, text)
            break  # '[' not followed by an index: left for the parser to report
        path.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        i = m.end()
    if text.startswith("-", i):
        raise _error("hyphens are not allowed in keys (quote string values)", i, text)
    return tuple(path), i


# --- parser ------------------------------------------------------------------------------

class _Parser:
    """Recursive descent over the tokens, compiling as it goes."""

    def __init__(self, text: str, toks: list[_Tok], prefixes: tuple[str, ...]):
        self.text, self.toks, self.prefixes = text, toks, prefixes
        self.i = 0
        self.depth = 0
        self.keys: set[str] = set()
        self.roots: set[str] = set()

    def _peek(self) -> _Tok:
        return self.toks[self.i]

    def _next(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def _fail(self, message: str, tok: _Tok) -> ExpressionError:
        return _error(message, tok.pos, self.text)

    def parse(self) -> Evaluator:
        if self._peek().kind == "end":
            raise ExpressionError(f'empty expression in "{self.text}"')
        fn = self._or()
        tok = self._peek()
        if tok.kind != "end":
            raise self._fail(f"unexpected '{tok.text}', expected AND, OR or the end", tok)
        return fn

    def _or(self) -> Evaluator:
        fns = [self._and()]
        while self._peek().kind == "or":
            fns.append(self._and(self._next()))
        return any_of(fns)

    def _and(self, after: _Tok | None = None) -> Evaluator:
        fns = [self._primary(after)]
        while self._peek().kind == "and":
            fns.append(self._primary(self._next()))
        return all_of(fns)

    def _primary(self, after: _Tok | None) -> Evaluator:
        tok = self._peek()
        if tok.kind == "(":
            self._next()
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise self._fail(f"parentheses nested deeper than {MAX_NESTING}", tok)
            fn = self._or()
            self.depth -= 1
            if self._peek().kind != ")":
                raise self._fail("missing ')' to close this '('", tok)
            self._next()
            return fn
        if tok.kind == "end":
            where = f"after '{after.text}'" if after else "here"
            raise self._fail(f"expected a condition {where}", tok)
        if tok.kind == "not":
            raise self._fail("NOT is only allowed as NOT IN", tok)
        left = self._operand(after)
        tok = self._next()
        if tok.kind == "not":
            if self._peek().kind != "op" or self._peek().value != "IN":
                raise self._fail("expected IN after NOT", self._peek())
            self._next()
            op = "NOT IN"
        elif tok.kind == "op":
            op = tok.value
        else:
            found = f"found '{tok.text}'" if tok.kind != "end" else "found the end"
            raise self._fail(f"expected an operator after '{left[2]}', {found}", tok)
        return compile_comparison(op, left, self._operand(tok))

    def _operand(self, after: _Tok | None) -> tuple[str, Any, str]:
        """Return ("const", value, text) or ("key", getter, text)."""
        tok = self._next()
        if tok.kind == "const":
            return ("const", tok.value, tok.text)
        if tok.kind == "key":
            self._check_prefix(tok)
            self.keys.add(tok.text)
            self.roots.add(tok.value[0])
            return ("key", getter(tok.value), tok.text)
        if tok.kind == "[":
            return ("const", self._array(tok), "[...]")
        where = f" after '{after.text}'" if after else ""
        found = "" if tok.kind == "end" else f", found '{tok.text}'"
        raise self._fail(f"expected a value{where}{found}", tok)

    def _array(self, start: _Tok) -> list[Any]:
        items: list[Any] = []
        if self._peek().kind == "]":
            self._next()
            return items
        while True:
            tok = self._next()
            if tok.kind != "const":
                what = "the end" if tok.kind == "end" else f"'{tok.text}'"
                raise self._fail(f"array elements must be constants, found {what}", tok)
            items.append(tok.value)
            tok = self._next()
            if tok.kind == "]":
                return items
            if tok.kind != ",":
                raise self._fail(f"expected ',' or ']' in the array opened at position "
                                 f"{start.pos}", tok)

    def _check_prefix(self, tok: _Tok) -> None:
        if not self.prefixes:
            return
        path = tok.value
        if path[0] not in self.prefixes or len(path) < 2 or not isinstance(path[1], str):
            wanted = " or ".join(f"'{p}.'" for p in self.prefixes)
            raise self._fail(f"key '{tok.text}' must start with {wanted}", tok)
