"""TaskRouter expression language: parsing, evaluation semantics and syntax errors."""

from __future__ import annotations

import pytest

from flexsim.emulator.expressions import ExpressionError, parse

WORKER = {
    "routing": {"skills": ["Sales", "Support"], "levels": {"Sales": 3, "Support": 1}},
    "lang": "en",
    "langs": ["en", "fr"],
    "level": 5,
    "rating": 4.5,
    "vip": True,
    "tags": [1, 2.5, True, "x"],
    "matrix": [[1, 2], [3, 4]],
    "people": [{"name": "ann", "ids": [7, 8]}, {"name": "bob"}],
    "nothing": None,
    "empty": [],
    "note": "it's \"quoted\"",
    "WA0123": 2,
}

CASES = [
    # equality, both spellings, strings and numbers on either side
    ("lang == 'en'", True),
    ("lang = 'en'", True),
    ('lang == "en"', True),
    ("'en' == lang", True),
    ("lang == 'EN'", False),  # case-sensitive
    ("lang != 'fr'", True),
    ("lang != 'en'", False),
    ("level == 5", True),
    ("level == 5.0", True),
    ("rating == 4.5", True),
    ("level != 4", True),
    ("5 == level", True),
    ("1==1", True),
    ("1 == 2", False),
    ("0 != 1", True),
    ("'a' == 'a'", True),
    # ordering: numbers numerically, strings lexicographically
    ("level > 4", True),
    ("level > 5", False),
    ("level >= 5", True),
    ("level < 10", True),
    ("level <= 4", False),
    ("rating < 5", True),
    ("level > -1", True),
    ("level > -1.5", True),
    ("-3 < level", True),
    ("lang < 'fr'", True),
    ("lang > 'fr'", False),
    ("lang >= 'en'", True),
    ("lang <= 'e'", False),
    ("routing.levels.Sales >= 2", True),
    ("routing.levels.Support >= 2", False),
    ("task.lang < worker.lang", False),
    # booleans: unquoted, case-insensitive; == and != only
    ("vip == true", True),
    ("vip == TRUE", True),
    ("vip == True", True),
    ("vip != false", True),
    ("vip == false", False),
    ("vip > false", False),
    ("true == true", True),
    # CONTAINS
    ("lang CONTAINS 'e'", True),
    ("lang contains 'x'", False),
    ("note CONTAINS \"it's\"", True),
    ("note CONTAINS '\"quoted\"'", True),
    ("langs CONTAINS 'en'", False),  # not on arrays
    ("level CONTAINS '5'", False),
    # HAS and its alias
    ("routing.skills HAS 'Sales'", True),
    ("routing.skills has 'Billing'", False),
    ("routing.skills >- 'Support'", True),
    ("routing.skills Has 'sales'", False),  # case-sensitive values
    ("tags HAS 1", True),
    ("tags HAS 2.5", True),
    ("tags HAS true", True),
    ("tags HAS 'x'", True),
    ("tags HAS '1'", False),  # types differ
    ("lang HAS 'e'", False),  # needs an array on the left
    ("langs HAS ['en']", False),  # needs a scalar on the right
    ("missing HAS 'x'", False),
    # IN and its alias, NOT IN
    ("lang IN ['en', 'de']", True),
    ("lang in ['de']", False),
    ("lang <- ['en']", True),
    ("lang IN []", False),
    ("'Sales' IN routing.skills", True),
    ("'Billing' IN routing.skills", False),
    ("level IN [1, 5]", True),
    ("level IN [5.0]", True),
    ("level IN ['5']", False),
    ("vip IN [true]", True),
    ("vip IN [1]", False),
    ("lang IN 'en'", False),  # needs an array on the right
    ("langs IN ['fr', 'de']", True),  # any element
    ("langs IN ['de']", False),
    ("lang NOT IN ['de', 'fr']", True),
    ("lang not in ['en']", False),
    ("lang Not In ['de']", True),
    ("level NOT IN [1, 2]", True),
    ("langs NOT IN ['de']", True),  # no element in the right array
    ("langs NOT IN ['fr']", False),
    ("lang NOT IN []", True),
    ("lang NOT IN 'x'", False),
    ("[1, 2] HAS 2", True),
    ("2 IN [1, 2]", True),
    ("'b' IN ['a', \"b\"]", True),
    # NULL: every comparison with a missing key or JSON null is false
    ("missing == 'x'", False),
    ("missing != 'x'", False),
    ("nothing != 'x'", False),
    ("nothing == 'x'", False),
    ("missing < 3", False),
    ("missing NOT IN ['x']", False),
    ("missing IN ['x']", False),
    ("missing CONTAINS 'x'", False),
    ("routing.nope.deeper == 1", False),
    ("lang.sub == 'x'", False),  # indexing into a string
    ("langs.x == 'en'", False),
    # mixed types compare false, whatever the operator
    ("level == '5'", False),
    ("level != '5'", False),
    ("level < '9'", False),
    ("vip == 1", False),
    ("vip != 1", False),
    ("lang == 1", False),
    ("routing == 'x'", False),  # an object is not a scalar
    ("langs == 'en'", False),  # a scalar operator on an array
    ("langs != 'en'", False),
    # [n] indexes and nested JSON
    ("langs[0] == 'en'", True),
    ("langs[1] == 'fr'", True),
    ("langs[2] == 'de'", False),
    ("lang[0] == 'e'", False),  # strings are not arrays
    ("matrix[1][0] == 3", True),
    ("people[0].name == 'ann'", True),
    ("people[0].ids[1] == 8", True),
    ("people[1].ids[0] == 8", False),
    ("people[5].name == 'ann'", False),
    ("routing.levels[0] == 3", False),
    ("WA0123 == 2", True),
    # keys on both sides
    ("langs HAS lang", True),
    ("lang IN langs", True),
    ("level == level", True),
    ("missing == missing", False),
    # AND / OR / parentheses and precedence (AND binds tighter)
    ("lang == 'en' AND level == 5", True),
    ("lang == 'en' and level == 4", False),
    ("lang == 'fr' OR level == 5", True),
    ("lang == 'fr' or level == 4", False),
    ("1==1 OR 1==2 AND 1==2", True),
    ("(1==1 OR 1==2) AND 1==2", False),
    ("1==2 AND 1==2 OR 1==1", True),
    ("1==2 AND (1==2 OR 1==1)", False),
    ("((lang == 'en'))", True),
    ("(lang == 'fr' OR (level > 1 AND (vip == true)))", True),
    ("lang == 'en' AND (langs HAS 'de' OR routing.skills HAS 'Support') AND level >= 5", True),
    ("lang=='en'AND level==5", True),  # no spaces needed after a string
]


@pytest.mark.parametrize(("source", "expected"), CASES)
def test_evaluate(source, expected):
    assert parse(source).evaluate(WORKER) is expected


PREFIXED = {
    "task": {"lang": "fr", "skill": "Sales", "agent": "WK1", "ids": [1, 2]},
    "worker": {**WORKER, "sid": "WK1", "activity_name": "Available",
               "channel": {"voice": {"available": True, "capacity": 1}}},
}


@pytest.mark.parametrize(("source", "expected"), [
    ("task.lang IN worker.langs", True),
    ("worker.routing.skills HAS task.skill", True),
    ("task.agent == worker.sid", True),
    ("worker.activity_name in ['Available', 'VIP']", True),
    ("worker.channel.voice.available == true", True),
    ("task.ids[1] == 2", True),
    ("task.lang == worker.lang", False),
    ("1==1", True),
])
def test_prefixed_expressions(source, expected):
    assert parse(source, require_prefix=True).evaluate(PREFIXED) is expected


@pytest.mark.parametrize("source", [
    "lang == 'en'", "task == 1", "tasks.lang == 'x'", "task[0] == 1", "'x' IN langs",
    "task.lang == 'x' AND level > 2",
])
def test_require_prefix_rejects_bare_keys(source):
    with pytest.raises(ExpressionError, match="must start with 'task.' or 'worker.'"):
        parse(source, require_prefix=True)


def test_custom_prefixes_for_skip_if():
    expr = parse("workers.available == 0 OR workers.WA0123 > 1", prefixes=["workers"])
    assert expr.evaluate({"workers": {"available": 0}}) is True
    assert expr.evaluate({"workers": {"available": 2, "WA0123": 1}}) is False
    with pytest.raises(ExpressionError, match="must start with 'workers.'"):
        parse("worker.available == 0", prefixes=["workers"])


@pytest.mark.parametrize(("source", "value"), [
    ("x == \"it's\"", "it's"),
    ("x == 'say \"hi\"'", 'say "hi"'),
    ("x == 'it\\'s'", "it's"),
    ("x == \"a\\\"b\"", 'a"b'),
    ("x == 'back\\\\slash'", "back\\slash"),
    ("x == 'c:\\temp'", "c:\\temp"),  # other backslashes are literal
    ("x == ''", ""),
    ("x == 'has spaces and AND or OR'", "has spaces and AND or OR"),
    ("x == 'en-us'", "en-us"),
])
def test_quoting(source, value):
    expr = parse(source)
    assert expr.evaluate({"x": value}) is True
    assert expr.evaluate({"x": value + "!"}) is False


@pytest.mark.parametrize(("source", "keys", "roots"), [
    ("routing.skills HAS 'Sales' AND lang == 'en'", {"routing.skills", "lang"}, {"routing", "lang"}),
    ("object.array[2] == 1", {"object.array[2]"}, {"object"}),
    ("1==1", set(), set()),
    ("task.lang IN worker.langs", {"task.lang", "worker.langs"}, {"task", "worker"}),
])
def test_keys_and_roots(source, keys, roots):
    expr = parse(source)
    assert expr.keys == frozenset(keys)
    assert expr.roots == frozenset(roots)
    assert expr.source == source


def test_parse_is_cached_and_expressions_compare_by_source():
    first = parse("lang == 'en'")
    assert parse("lang == 'en'") is first
    assert parse("lang == 'en'", require_prefix=False) == first
    assert hash(first) == hash("lang == 'en'")
    assert first != parse("lang == 'fr'")


@pytest.mark.parametrize("context", [{}, {"routing": None}, {"routing": "text"},
                                     {"routing": ["a"]}, {"routing": {"skills": "Sales"}}])
def test_odd_contexts_are_false_not_errors(context):
    assert parse("routing.skills HAS 'Sales'").evaluate(context) is False
    assert parse("routing.skills[0] == 'Sales'").evaluate(context) is False


INVALID = [
    ("", "empty expression"),
    ("   ", "empty expression"),
    ("topic == ", "expected a value after '==' at position 9 in \"topic == \""),
    ("lang ==", "expected a value after '=='"),
    ("== 'x'", "expected a value, found '=='"),
    ("lang", "expected an operator after 'lang', found the end"),
    ("lang 'en'", "expected an operator after 'lang', found ''en''"),
    ("lang == 'en' AND", "expected a condition after 'AND' at position 16"),
    ("lang == 'en' OR", "expected a condition after 'OR'"),
    ("AND lang == 'en'", "expected a value, found 'AND'"),
    ("lang == 'en' AND AND x == 1", "expected a value after 'AND', found 'AND'"),
    ("lang == 'en", "unterminated string at position 8"),
    ('lang == "en', "unterminated string"),
    ("lang == 'en\\'", "unterminated string"),
    ("(lang == 'en'", "missing ')' to close this '(' at position 0"),
    ("((lang == 'en')", "missing ')' to close this '(' at position 0"),
    ("lang == 'en')", "unexpected ')', expected AND, OR or the end at position 12"),
    ("()", "expected a value, found ')'"),
    ("lang == 'en' x", "unexpected 'x', expected AND, OR or the end"),
    ("lang == 'en' 'fr'", "unexpected ''fr''"),
    ("x == 'it''s'", "unexpected ''s''"),
    ("lang NOT 'en'", "expected IN after NOT"),
    ("lang NOT ['en']", "expected IN after NOT"),
    ("NOT lang == 'en'", "NOT is only allowed as NOT IN"),
    ("lang NOT", "expected IN after NOT"),
    ("my-key == 1", "hyphens are not allowed in keys (quote string values) at position 2"),
    ("lang == en-us", "hyphens are not allowed in keys"),
    ("routing.top-skill == 1", "hyphens are not allowed in keys"),
    ("x == - 1", "hyphens are only allowed in quoted strings"),
    ("x == 1abc", "invalid number '1a'"),
    ("x == 1.2.3", "invalid number"),
    ("routing. == 1", "expected a key name after '.' at position 8"),
    ("routing..x == 1", "expected a key name after '.'"),
    ("x ! 1", "unexpected character '!'"),
    ("x == 1 && y == 2", "unexpected character '&'"),
    ("x IN [1, 2", "expected ',' or ']' in the array opened at position 5"),
    ("x IN [1 2]", "expected ',' or ']'"),
    ("x IN [1,]", "array elements must be constants, found ']'"),
    ("x IN [y]", "array elements must be constants, found 'y'"),
    ("x IN [[1]]", "array elements must be constants, found '['"),
    ("x IN [", "array elements must be constants, found the end"),
    ("skills['a'] == 1", "expected an operator after 'skills', found '['"),
    ("x == 1 == 2", "unexpected '=='"),
    ("x <> 1", "expected a value after '<', found '>'"),
    ("x ==== 1", "expected a value after '==', found '=='"),
    ("x.in.y == 1 OR", "expected a condition after 'OR'"),
    ("lang == 'en' ; drop", "unexpected character ';'"),
]


@pytest.mark.parametrize(("source", "message"), INVALID)
def test_invalid_syntax(source, message):
    with pytest.raises(ExpressionError) as info:
        parse(source)
    assert message in str(info.value)
    assert isinstance(info.value, ValueError)


def test_non_string_is_rejected():
    with pytest.raises(ExpressionError, match="must be a string"):
        parse(None)  # type: ignore[arg-type]


def test_keywords_are_not_keys_but_prefixed_segments_may_be():
    assert parse("task.in == 1").evaluate({"task": {"in": 1}}) is True
    assert parse("x.AND.y == 1").evaluate({"x": {"AND": {"y": 1}}}) is True


def test_greedy_alias_reading_is_documented_behaviour():
    # '>-' is the HAS alias, so 'x>-1' means 'x HAS 1'
    assert parse("x>-1").evaluate({"x": [1]}) is True
    assert parse("x > -1").evaluate({"x": 0}) is True


VALUES = ["en", "", "EN", 5, 5.0, -1, 0, True, False, None, ["en", 5], [], {"a": 1}]
LITERALS = {"'en'": "en", "'EN'": "EN", "5": 5, "2.5": 2.5, "-1": -1, "true": True,
            "['en', 5]": ["en", 5], "['x']": ["x"], "[]": []}
OPERATORS = ["==", "!=", "<", ">", "<=", ">=", "CONTAINS", "HAS", "IN", "NOT IN"]


@pytest.mark.parametrize("op", OPERATORS)
@pytest.mark.parametrize("literal", list(LITERALS))
def test_specialised_closures_agree_with_the_general_rules(op, literal):
    """`key OP constant` is compiled to fast closures; `key OP key` takes the general path."""
    fast, general = parse(f"x {op} {literal}"), parse(f"x {op} y")
    fast_left, general_left = parse(f"{literal} {op} x"), parse(f"y {op} x")
    for value in VALUES:
        context = {"x": value, "y": LITERALS[literal]}
        assert fast.evaluate(context) is general.evaluate(context), (value, op, literal)
        assert fast_left.evaluate(context) is general_left.evaluate(context), (literal, op, value)


@pytest.mark.parametrize("joiner", [" AND ", " OR "])
def test_long_chains_evaluate_without_deep_recursion(joiner):
    expr = parse(joiner.join(["x == 1"] * 5000))
    assert expr.evaluate({"x": 1}) is True
    assert expr.evaluate({"x": 2}) is False


@pytest.mark.parametrize("size", [3, 5])
def test_chains_of_three_or_more(size):
    parts = ["x == 1"] * (size - 1)
    assert parse(" AND ".join([*parts, "y == 2"])).evaluate({"x": 1, "y": 2}) is True
    assert parse(" OR ".join(["x == 0"] * (size - 1) + ["y == 2"])).evaluate({"y": 2}) is True
    assert parse(" AND ".join(parts + ["y == 3"])).evaluate({"x": 1, "y": 2}) is False
    assert parse(" OR ".join(["x == 0"] * size)).evaluate({"x": 1}) is False


def test_deep_nesting_is_a_syntax_error_not_a_crash():
    assert parse("(" * 64 + "1==1" + ")" * 64).evaluate({}) is True
    with pytest.raises(ExpressionError, match="parentheses nested deeper than 64"):
        parse("(" * 65 + "1==1" + ")" * 65)
    with pytest.raises(ExpressionError):
        parse("(" * 100_000)
