"""load_config: typed results, helpers, and every kind of error."""

from __future__ import annotations

import json
import random
import shutil

import pytest

from flexsim.config import (FLEXSIM_MARKER_KEY, Activity, Channel, ConfigMissing, is_flexsim, load_config)
from flexsim.errors import ConfigInvalid


def edit(folder, name, change):
    path = folder / name
    doc = json.loads(path.read_text())
    result = change(doc)
    doc = result if isinstance(result, list) else doc  # a change may return a replacement list
    path.write_text(json.dumps(doc))


def problems(folder) -> list[str]:
    with pytest.raises(ConfigInvalid) as info:
        load_config(folder)
    return info.value.problems


def test_load_returns_typed_objects(cfg_dir):
    config = load_config(cfg_dir)
    assert config.cfgdir == cfg_dir
    assert config.metadata.brand == "Owl Industries" and config.metadata.agent_cnt == 10
    assert config.metadata.faker_locale == "en_US" and config.metadata.seed == 7
    assert config.metadata.queue_worker_props == ("routing.skills",)
    assert [w.friendly_name for w in config.workers][:2] == ["Agent_000", "Agent_001"]
    assert config.workers[0].attributes[FLEXSIM_MARKER_KEY] is True
    assert [(q.friendly_name, q.target_workers) for q in config.queues][0] == ("Sales", "routing.skills HAS 'Sales'")
    assert config.workflow.friendly_name == "Owl Industries Workflow"
    assert config.workflow.default_queue == "Everyone"
    first = config.workflow.filters[0]
    assert (first.friendly_name, first.expression, first.queue, first.targets[0].timeout) == \
        ("Sales", "topic=='Sales'", "Sales", 300)


def test_helpers_later_commands_use(cfg_dir):
    config = load_config(cfg_dir)
    assert config.channel_capacities() == {"voice": 1, "chat": 2, "sms": 2}
    assert config.channels()[0] == Channel("voice", 0.4, 1)
    assert config.activities() == [Activity("Available", 0.75, 60), Activity("Busy", 0.05, 15),
                                   Activity("Break", 0.1, 30), Activity("Lunch", 0.1, 120)]
    assert [i.name for i in config.task_instances("arrival")] == ["topic"]
    assert config.task_instances("completion") == []
    assert [i.name for i in config.worker_instances()] == ["lang", "routing.skills"]  # sorted in metadata
    talk = config.prop("talkTime")
    assert (talk.min, talk.max, talk.system.curve) == (15, 45, "bell")
    assert all(15 <= talk.draw(random.Random(i)) <= 45 for i in range(50))
    assert config.prop("topic").instances[0].portions == (0.4, 0.35, 0.25)
    assert config.worker("Agent_003").friendly_name == "Agent_003" and config.worker("nobody") is None
    with pytest.raises(ValueError, match="phase must be one of arrival, assignment, completion"):
        config.task_instances("arrive")
    with pytest.raises(KeyError):
        config.prop("nope")


def test_workflow_configuration_uses_sids(cfg_dir):
    config = load_config(cfg_dir)
    sids = {"Sales": "WQ1", "Service": "WQ2", "Support": "WQ3", "Everyone": "WQ0"}
    routing = config.workflow.configuration(sids)["task_routing"]
    assert routing["filters"][0] == {"filter_friendly_name": "Sales", "expression": "topic=='Sales'",
                                     "targets": [{"queue": "WQ1", "timeout": 300}]}
    assert routing["default_filter"] == {"queue": "WQ0"}
    with pytest.raises(KeyError):
        config.workflow.configuration({"Sales": "WQ1"})


def test_is_flexsim_checks_the_marker():
    assert is_flexsim({"flexsim": True, "x": 1})
    assert not is_flexsim({"flexsim": "true"})
    assert not is_flexsim({}) and not is_flexsim(None)


def test_missing_folder_says_to_run_genconfig(tmp_path):
    with pytest.raises(ConfigMissing) as info:
        load_config(tmp_path / "config")
    assert str(info.value) == f"{tmp_path / 'config'} does not exist: run flexsim genconfig first (or pass --cfgdir)"
    assert info.value.exit_code == 1


def test_missing_file_is_named(cfg_dir):
    (cfg_dir / "queues.json").unlink()
    with pytest.raises(ConfigMissing, match=r"has no queues.json: run flexsim genconfig first"):
        load_config(cfg_dir)


def test_invalid_json_and_schema_errors_are_all_reported(cfg_dir):
    (cfg_dir / "workers.json").write_text('[\n  {"friendlyName": }\n]')
    edit(cfg_dir, "queues.json", lambda q: q[0].update(friendlyname="x"))
    edit(cfg_dir, "workflow.json", lambda w: w["filters"][0]["targets"][0].update(timeout="300"))
    assert problems(cfg_dir) == [
        f"{cfg_dir / 'workers.json'}: line 2 column 20: invalid JSON: Expecting value",
        f"{cfg_dir / 'queues.json'}: [0].friendlyname: unknown key (did you mean 'friendlyName'?)",
        f"{cfg_dir / 'workflow.json'}: filters[0].targets[0].timeout: '300' is not of type 'integer'",
    ]


def test_metadata_gets_the_domain_rules(cfg_dir):
    def break_portions(meta):
        meta["props"]["channel"]["instances"][0]["valueProps"][0]["portion"] = 0.9

    edit(cfg_dir, "metadata.json", break_portions)
    assert problems(cfg_dir) == [
        f"{cfg_dir / 'metadata.json'}: props.channel.instances[0].valueProps: portions sum to 1.5, not 1"]


def test_worker_without_marker_is_refused(cfg_dir):
    edit(cfg_dir, "workers.json", lambda w: w[1]["attributes"].pop("flexsim"))
    assert problems(cfg_dir) == [f"{cfg_dir / 'workers.json'}: [1].attributes: 'flexsim' is a required property"]


def test_cross_file_rules(cfg_dir):
    def workers(w):
        w[1]["friendlyName"] = "Agent_000"
        w[2]["attributes"]["mood"] = "happy"
        return w[:-1]

    edit(cfg_dir, "workers.json", workers)
    edit(cfg_dir, "queues.json", lambda q: q.append(dict(q[0])))
    edit(cfg_dir, "workflow.json", lambda w: w["filters"][1]["targets"][0].update(queue="Sevice"))
    assert problems(cfg_dir) == [
        f"{cfg_dir / 'workers.json'}: [1].friendlyName: 'Agent_000' appears more than once",
        f"{cfg_dir / 'workers.json'}: [2].attributes.mood: not a worker attribute in metadata.json",
        f"{cfg_dir / 'workers.json'}: $: has 9 workers but metadata.json says agentCnt 10",
        f"{cfg_dir / 'queues.json'}: [3].friendlyName: 'Sales' appears more than once",
        f"{cfg_dir / 'workflow.json'}: filters[1].targets[0].queue: 'Sevice' is not in queues.json",
    ]


def test_config_copied_elsewhere_still_loads(cfg_dir, tmp_path):
    shutil.copytree(cfg_dir, tmp_path / "copy")
    assert load_config(tmp_path / "copy").metadata.seed == 7
