"""Loading the domain: locale files, merge rules and every validation rule."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from flexsim.domain import builtin_locales, deep_merge, load_domain, merge_domain
from flexsim.errors import ConfigInvalid

PROBLEM_LINE = re.compile(r"^[^:]+(?: \(built-in\))?: [^:]+: .+$")


def write(folder: Path, doc: object, name: str = "domain.json") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return path


def problems_for(tmp_path: Path, doc: object, **kwargs) -> list[str]:
    write(tmp_path / "d", doc)
    with pytest.raises(ConfigInvalid) as info:
        load_domain(tmp_path / "d", **kwargs)
    return info.value.problems


def test_en_us_defaults_match_the_original_figures(tmp_path):
    data = load_domain(tmp_path).data
    props = data["props"]
    assert (data["brand"], data["agentCnt"], data["queueFilterProp"], data["queueWorkerProps"]) == \
        ("Owl Industries", 10, "topic", ["routing.skills"])
    spans = {n: (props[n]["min"], props[n]["max"], props[n]["instances"][0]["curve"])
             for n in ("arrivalGap", "abandonTime", "talkTime", "wrapTime")}
    assert spans == {"arrivalGap": (5, 10, "uniform"), "abandonTime": (15, 60, "uniform"),
                     "talkTime": (15, 45, "bell"), "wrapTime": (5, 25, "bell")}
    channel = props["channel"]
    assert channel["values"] == ["voice", "chat", "sms"]
    assert channel["instances"][0]["valueProps"] == [{"portion": 0.4, "baseCapacity": 1},
                                                     {"portion": 0.3, "baseCapacity": 2},
                                                     {"portion": 0.3, "baseCapacity": 2}]
    activity = props["activity"]
    assert activity["values"] == ["Available", "Busy", "Break", "Lunch"]
    assert [(v["portion"], v["baseDur"]) for v in activity["instances"][0]["valueProps"]] == \
        [(0.75, 60), (0.05, 15), (0.1, 30), (0.1, 120)]
    task, worker = props["topic"]["instances"]
    assert props["topic"]["values"] == ["Sales", "Service", "Support"]
    assert (task["target"], task["phase"], [v["portion"] for v in task["valueProps"]]) == \
        ("task", "arrival", [0.4, 0.35, 0.25])
    assert (worker["target"], worker["name"], worker["valueCnt"]) == ("worker", "routing.skills", 2)
    assert props["lang"]["values"] == ["en-us", "en-gb", "es-es"]
    assert props["lang"]["instances"][0]["target"] == "worker"


def test_schema_and_context_defaults_are_filled(tmp_path):
    props = load_domain(tmp_path).data["props"]
    assert props["lang"]["dataType"] == "string" and props["lang"]["expr"] == "enum"
    inst = props["lang"]["instances"][0]
    assert (inst["name"], inst["curve"], inst["valueCnt"]) == ("lang", "uniform", 1)
    assert "phase" not in inst  # phase belongs to task instances only
    assert load_domain(tmp_path).data["fakerLocale"] == "en_US"


def test_es_es_extends_en_us_and_overrides_only_what_differs(tmp_path):
    domain = load_domain(tmp_path, "es-es")
    assert domain.sources == ("en-us.json (built-in)", "es-es.json (built-in)")
    assert domain.data["brand"] == "Industrias Búho"
    assert domain.data["fakerLocale"] == "es_ES"
    assert domain.data["props"]["topic"]["values"] == ["Ventas", "Servicio", "Soporte"]
    assert len(domain.data["props"]["topic"]["instances"]) == 2  # kept from en-us
    assert domain.data["props"]["talkTime"]["max"] == 45
    assert builtin_locales() == ["en-us", "es-es"]


def test_domain_overrides_top_level_keys_and_deep_merges_props(tmp_path):
    write(tmp_path, {"brand": "ACME", "agentCnt": 3, "props": {"talkTime": {"max": 90}}})
    data = load_domain(tmp_path).data
    assert (data["brand"], data["agentCnt"]) == ("ACME", 3)
    talk = data["props"]["talkTime"]
    assert (talk["min"], talk["max"], talk["instances"][0]["curve"]) == (15, 90, "bell")
    assert {"topic", "lang"} <= set(data["props"])  # only standard props given: defaults' topics stay


def test_arrays_are_replaced_whole():
    merged = deep_merge({"a": {"values": [1, 2, 3], "x": 1}}, {"a": {"values": [9]}})
    assert merged == {"a": {"values": [9], "x": 1}}


def test_a_custom_prop_drops_the_default_non_standard_props(tmp_path):
    custom = {"values": ["A", "B"], "instances": [
        {"target": "task", "valueProps": [{"portion": 0.5}, {"portion": 0.5}]},
        {"target": "worker", "name": "routing.skills", "valueProps": [{"portion": 0.5}, {"portion": 0.5}]}]}
    write(tmp_path, {"props": {"area": custom}, "queueFilterProp": "area"})
    props = load_domain(tmp_path).data["props"]
    assert "topic" not in props and "lang" not in props
    assert {"area", "talkTime", "channel", "activity"} <= set(props)


def test_merge_domain_does_not_change_its_inputs():
    defaults = {"props": {"topic": {"values": ["A"]}, "talkTime": {"min": 1}}}
    before = copy.deepcopy(defaults)
    merge_domain(defaults, {"props": {"custom": {"values": ["x"]}}})
    assert defaults == before


def test_locale_in_domaindir_wins_over_the_built_in_one(tmp_path):
    builtin = json.loads((Path(__file__).parents[1] / "domain" / "en-us.json").read_text())
    builtin["brand"] = "Local Owls"
    write(tmp_path, builtin, "en-us.json")
    domain = load_domain(tmp_path)
    assert domain.data["brand"] == "Local Owls"
    assert domain.sources == (str(tmp_path / "en-us.json"),)


def test_locale_may_be_a_path_to_a_json_file(tmp_path):
    path = write(tmp_path / "elsewhere", {"extends": "en-us", "brand": "Path Owls"}, "mine.json")
    assert load_domain(tmp_path / "nothing", str(path)).data["brand"] == "Path Owls"


def test_unknown_locale_names_the_built_in_ones(tmp_path):
    with pytest.raises(ConfigInvalid) as info:
        load_domain(tmp_path, "fr-fr")
    assert info.value.problems == [f"fr-fr.json: $: no such locale in {tmp_path} nor built in "
                                   "(built-in: en-us, es-es)"]


def test_extends_loop_is_reported(tmp_path):
    write(tmp_path, {"extends": "bb-bb"}, "aa-aa.json")
    write(tmp_path, {"extends": "aa-aa"}, "bb-bb.json")
    with pytest.raises(ConfigInvalid, match="extend each other in a loop"):
        load_domain(tmp_path, "aa-aa")


def test_schema_key_is_allowed_for_editors_and_dropped(tmp_path):
    write(tmp_path, {"$schema": "./domain.schema.json", "brand": "ACME"})
    data = load_domain(tmp_path).data
    assert data["brand"] == "ACME" and "$schema" not in data


def test_command_line_overrides_apply_last(tmp_path):
    write(tmp_path, {"agentCnt": 3})
    assert load_domain(tmp_path, overrides={"agentCnt": 42}).data["agentCnt"] == 42


def test_invalid_json_reports_line_and_column(tmp_path):
    problems = problems_for(tmp_path, '{\n  "brand": "x",\n  "agentCnt": 3,,\n}')
    assert problems == [f"{tmp_path / 'd' / 'domain.json'}: line 3 column 17: invalid JSON: "
                        "Expecting property name enclosed in double quotes"]


def test_duplicate_keys_are_reported(tmp_path):
    problems = problems_for(tmp_path, '{"brand": "a", "brand": "b"}')
    assert problems == [f"{tmp_path / 'd' / 'domain.json'}: $: key 'brand' appears more than once"]


def test_unknown_keys_get_a_did_you_mean_hint(tmp_path):
    doc = {"brnad": "ACME", "props": {"topic": {"instances": [
        {"target": "task", "valueprops": [{"portion": 1}]}]}}}
    label = tmp_path / "d" / "domain.json"
    assert problems_for(tmp_path, doc) == [
        f"{label}: brnad: unknown key (did you mean 'brand'?)",
        f"{label}: props.topic.instances[0].valueprops: unknown key (did you mean 'valueProps'?)",
    ]


def test_enum_typos_get_a_hint(tmp_path):
    problems = problems_for(tmp_path, {"props": {"talkTime": {"instances": [{"curve": "bel"}]}}})
    assert problems == [f"{tmp_path / 'd' / 'domain.json'}: props.talkTime.instances[0].curve: "
                        "\"bel\" is not one of \"uniform\", \"bell\" (did you mean 'bell'?)"]


def test_every_problem_is_reported_in_both_files(tmp_path):
    write(tmp_path / "d", {"extends": "en-us", "agentCnt": "ten"}, "xx-xx.json")
    problems = problems_for(tmp_path, {"brand": 5, "queueWorkerProps": []}, locale="xx-xx")
    assert len(problems) == 3
    assert problems[0].startswith(f"{tmp_path / 'd' / 'xx-xx.json'}: agentCnt: ")
    assert {p.split(": ")[1] for p in problems[1:]} == {"brand", "queueWorkerProps"}
    assert all(PROBLEM_LINE.match(p) for p in problems)


def test_semantic_problems_name_the_file_that_set_the_value(tmp_path):
    problems = problems_for(tmp_path, {"props": {"talkTime": {"min": 50}},
                                       "queueFilterProp": "topik"})
    label = tmp_path / "d" / "domain.json"
    assert problems == [
        f"{label}: props.talkTime: min (50) is greater than max (45)",
        f"{label}: queueFilterProp: 'topik' is not a prop with a task instance (did you mean 'topic'?)",
    ]


TWO = [{"portion": 0.5}, {"portion": 0.5}]
EN_US = json.loads((Path(__file__).parents[1] / "domain" / "en-us.json").read_text())


def custom(changes: dict, **top: object) -> dict:
    """A domain.json redefining the default topic and lang props, with ``changes`` merged in.

    Touching any non-standard prop drops the defaults' ones, so both are given in full.
    """
    props = {name: EN_US["props"][name] for name in ("topic", "lang")}
    return {"props": deep_merge(props, changes), **top}


LANG3 = [{"portion": 0.5}, {"portion": 0.5}, {"portion": 0}]
RULES = [
    # (domain.json, the "path: message" problems expected, all of them)
    (custom({"topic": {"values": ["Sales", "Service"]}}),
     ["props.topic.instances[0].valueProps: has 3 entries but the prop has 2 values",
      "props.topic.instances[1].valueProps: has 3 entries but the prop has 2 values"]),
    (custom({"lang": {"instances": [{"target": "worker", "valueProps": [
        {"portion": 0.5}, {"portion": 0.3}, {"portion": 0.1}]}]}}),
     "props.lang.instances[0].valueProps: portions sum to 0.9, not 1"),
    (custom({"lang": {"instances": [{"target": "worker", "valueProps": [
        {"portion": -0.5}, {"portion": 1}, {"portion": 0.5}]}]}}),
     "props.lang.instances[0].valueProps[0].portion: -0.5 is less than the minimum of 0"),
    ({"props": {"wrapTime": {"min": 30, "max": 20}}}, "props.wrapTime: min (30) is greater than max (20)"),
    (custom({"holdTime": {"expr": "range", "dataType": "integer", "max": 5}}),
     "props.holdTime: range props need min and max (missing min)"),
    (custom({"holdTime": {"expr": "range", "min": 1, "max": 5}}),
     "props.holdTime.dataType: range props need dataType integer or number"),
    ({"props": {"talkTime": {"min": 1.5}}}, "props.talkTime.min: 1.5 is not a whole number, but dataType is integer"),
    (custom({"mood": {"instances": []}}), "props.mood: enum props need values"),
    ({"props": {"channel": {"min": 1}}}, "props.channel.min: min applies to range props only"),
    (custom({"lang": {"values": [1, "en-gb", "es-es"]}}), "props.lang.values[0]: 1 is not of dataType string"),
    (custom({"topic": {"instances": [{"target": "task"}, EN_US["props"]["topic"]["instances"][1]]}}),
     "props.topic.instances[0]: enum instances need valueProps, one per value"),
    ({"queueFilterProp": "lang"}, "queueFilterProp: 'lang' is not a prop with a task instance"),
    ({"queueWorkerProps": ["skills"]},
     "queueWorkerProps[0]: 'skills' is not a worker attribute (did you mean 'routing.skills'?)"),
    ({"props": {"activity": {"values": ["Ready", "Busy", "Break", "Lunch"]}}},
     "props.activity.values: activity values must include 'Available'"),
    ({"agentCnt": 0}, "agentCnt: 0 is less than the minimum of 1"),
    ({"agentCnt": 15001}, "agentCnt: 15001 is greater than the maximum of 15000"),
    (custom({"lang": {"instances": [{"target": "worker", "name": "spoken-lang", "valueProps": LANG3}]}}),
     "props.lang.instances[0].name: 'spoken-lang' is not a valid TaskRouter attribute name "
     "(letters, digits and _, dots between parts; no hyphens)"),
    ({"props": {"channel": {"values": ["voice", "web-chat", "sms"]}}},
     "props.channel.values[1]: 'web-chat' is not a valid TaskChannel unique name "
     "(letters, digits, _ and $, not starting with a digit)"),
    (custom({"lang": {"instances": [{"target": "worker", "name": "full_name", "valueProps": LANG3}]}}),
     "props.lang.instances[0]: 'full_name' is reserved: flexsim sets that worker attribute itself"),
    (custom({"vip": {"dataType": "boolean", "values": [True, False], "instances": [
        {"target": "task", "name": "name", "valueProps": TWO}]}}),
     "props.vip.instances[0]: 'name' is reserved: flexsim sets that task attribute itself"),
    (custom({"lang": {"instances": [{"target": "worker", "name": "routing.skills", "valueProps": LANG3}]}}),
     "props.lang.instances[0]: worker attribute 'routing.skills' is also set by props.topic.instances[1]"),
    (custom({"lang": {"instances": [{"target": "worker", "name": "routing.skills.main", "valueProps": LANG3}]}}),
     "props.lang.instances[0]: worker attribute 'routing.skills.main' clashes with 'routing.skills'"),
    (custom({"lang": {"instances": [{"target": "worker", "phase": "arrival", "valueProps": LANG3}]}}),
     "props.lang.instances[0].phase: phase applies to task instances only"),
    (custom({"lang": {"instances": [{"target": "worker", "valueProps": [
        {"portion": 0.5, "baseDur": 3}, {"portion": 0.5}, {"portion": 0}]}]}}),
     "props.lang.instances[0].valueProps[0].baseDur: baseDur applies to the activity prop only"),
    (custom({"lang": {"instances": [{"target": "worker", "valueProps": [
        {"portion": 0.5, "baseCapacity": 3}, {"portion": 0.5}, {"portion": 0}]}]}}),
     "props.lang.instances[0].valueProps[0].baseCapacity: baseCapacity applies to the channel prop only"),
    (custom({"lang": {"instances": [{"target": "worker", "valueCnt": 3, "valueProps": LANG3}]}}),
     "props.lang.instances[0].valueCnt: valueCnt 3 exceeds the 2 values with a portion above 0"),
    (custom({"floor": {"dataType": "integer", "expr": "range", "min": 1, "max": 2, "instances": [
        {"target": "worker", "valueCnt": 3}]}}),
     "props.floor.instances[0].valueCnt: valueCnt 3 exceeds the 2 whole numbers in range"),
    (custom({"floor": {"dataType": "integer", "expr": "range", "min": 1, "max": 2, "instances": [
        {"target": "worker", "valueProps": TWO}]}}),
     "props.floor.instances[0].valueProps: valueProps apply to enum props only"),
    (custom({"floor": {"dataType": "integer", "expr": "range", "min": 1, "max": 2, "values": [1, 2]}}),
     "props.floor.values: values apply to enum props only; use min and max"),
    ({"props": {"activity": {"instances": [{"valueProps": [
        {"portion": 0.7, "baseDur": 1}, {"portion": 0.1, "baseDur": 1}, {"portion": 0.1},
        {"portion": 0.1, "baseDur": 1}]}]}}},
     "props.activity.instances[0].valueProps[2]: activity values need baseDur (seconds)"),
    ({"props": {"talkTime": {"instances": [{"target": "worker"}]}}},
     "props.talkTime.instances: 'talkTime' needs an instance with target 'system'"),
    (custom({"talktime": {"expr": "range", "dataType": "integer", "min": 1, "max": 2}}),
     "props.talktime: 'talktime' is not a standard prop (did you mean 'talkTime'?)"),
    (custom({"topic": {"values": ["Sales", "Service", "Everyone"]}}),
     "props.topic.values[2]: 'Everyone' cannot be a queue value: that name is kept for the default queue"),
    (custom({"topic": {"values": ["Sales", "After-sales", "Support"]}}),
     "props.topic.values[1]: 'After-sales' cannot go in a TaskRouter expression (no quotes or hyphens), "
     "yet queueFilterProp makes a workflow filter of it"),
    (custom({"topic": {"instances": [
        EN_US["props"]["topic"]["instances"][0],
        {"target": "worker", "name": "routing.tags", "valueProps": LANG3[::-1]}]},
        "area": {"values": ["Sales", "Service"], "instances": [
            {"target": "worker", "name": "routing.skills", "valueProps": TWO}]}}),
     "props.topic.values[2]: filter value 'Support' has no queue: it is not a value of worker attribute "
     "'routing.skills'"),
]


@pytest.mark.parametrize(("doc", "expected"), RULES, ids=[str(i) for i in range(len(RULES))])
def test_each_rule_rejects_a_bad_domain(tmp_path, doc, expected):
    expected = [expected] if isinstance(expected, str) else expected
    assert problems_for(tmp_path, doc) == [f"{tmp_path / 'd' / 'domain.json'}: {line}" for line in expected]


def test_extends_is_for_locale_files_only(tmp_path):
    problems = problems_for(tmp_path, {"extends": "en-us"})
    assert problems == [f"{tmp_path / 'd' / 'domain.json'}: extends: only locale files may extend a locale"]


def test_standard_props_must_keep_their_kind(tmp_path):
    label = tmp_path / "d" / "domain.json"
    problems = problems_for(tmp_path, {"props": {"talkTime": {"expr": "enum", "values": [1, 2]}}})
    assert f"{label}: props.talkTime.expr: 'talkTime' must be a range prop" in problems
    problems = problems_for(tmp_path, {"props": {"channel": {"expr": "range", "dataType": "integer",
                                                             "min": 1, "max": 2}}})
    assert f"{label}: props.channel.expr: 'channel' must be an enum prop" in problems


def test_a_missing_standard_prop_is_reported(tmp_path):
    builtin = json.loads((Path(__file__).parents[1] / "domain" / "en-us.json").read_text())
    del builtin["props"]["wrapTime"]
    write(tmp_path, builtin, "zz-zz.json")
    with pytest.raises(ConfigInvalid) as info:
        load_domain(tmp_path, "zz-zz")
    assert info.value.problems == [f"{tmp_path / 'zz-zz.json'}: props: standard prop 'wrapTime' is missing"]


def test_the_example_bank_domain_is_valid():
    root = Path(__file__).parents[1]
    data = load_domain(root).data
    assert data["props"]["topic"]["values"] == ["Checking", "CreditCard", "Mortgage", "OtherLoans"]
    assert "lang" in data["props"] and "intent" in data["props"]
