"""genconfig: the four config files, determinism, atomic writes and the CLI."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from flexsim import genconfig as genconfig_module
from flexsim.cli import cli
from flexsim.config import load_config
from flexsim.domain import load_domain
from flexsim.genconfig import agent_names, build_queues, build_workflow, generate_config, write_config

ROOT = Path(__file__).parents[1]
FILES = ["metadata.json", "queues.json", "workers.json", "workflow.json"]


def read(folder: Path, name: str):
    return json.loads((folder / name).read_text(encoding="utf-8"))


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.exists() else {}


def test_agent_names_are_zero_padded_to_three_digits_or_more():
    assert agent_names(3) == ["Agent_000", "Agent_001", "Agent_002"]
    assert agent_names(1000)[-1] == "Agent_999"
    assert agent_names(1001)[:2] == ["Agent_0000", "Agent_0001"] and agent_names(1001)[-1] == "Agent_1000"


def test_default_domain_gives_the_documented_files(cfg_dir):
    assert sorted(p.name for p in cfg_dir.iterdir()) == FILES
    workers = read(cfg_dir, "workers.json")
    assert [w["friendlyName"] for w in workers] == agent_names(10)
    for worker in workers:
        attrs = worker["attributes"]
        assert set(attrs) == {"flexsim", "contact_uri", "full_name", "lang", "routing"}
        assert attrs["flexsim"] is True
        assert attrs["contact_uri"] == f"client:{worker['friendlyName']}"
        assert attrs["full_name"].strip() and " " in attrs["full_name"]
        assert attrs["lang"] in ("en-us", "en-gb", "es-es")
        assert attrs["routing"]["levels"] == {}
        skills = attrs["routing"]["skills"]
        assert len(skills) == 2 and set(skills) <= {"Sales", "Service", "Support"}
    assert read(cfg_dir, "queues.json") == [
        {"friendlyName": "Sales", "targetWorkers": "routing.skills HAS 'Sales'"},
        {"friendlyName": "Service", "targetWorkers": "routing.skills HAS 'Service'"},
        {"friendlyName": "Support", "targetWorkers": "routing.skills HAS 'Support'"},
    ]
    assert read(cfg_dir, "workflow.json") == {
        "friendlyName": "Owl Industries Workflow",
        "filters": [{"filterFriendlyName": v, "expression": f"topic=='{v}'",
                     "targets": [{"queue": v, "timeout": 300}]} for v in ("Sales", "Service", "Support")],
        "defaultFilter": {"queue": "Everyone"},
    }
    meta = read(cfg_dir, "metadata.json")
    assert {k: meta[k] for k in ("brand", "agentCnt", "locale", "fakerLocale", "queueFilterProp",
                                 "queueWorkerProps", "seed")} == {
        "brand": "Owl Industries", "agentCnt": 10, "locale": "en-us", "fakerLocale": "en_US",
        "queueFilterProp": "topic", "queueWorkerProps": ["routing.skills"], "seed": 7}
    assert meta["taskAttributes"] == [{"name": "topic", "prop": "topic", "phase": "arrival"}]
    assert meta["workerAttributes"] == [{"name": "routing.skills", "prop": "topic"}, {"name": "lang", "prop": "lang"}]
    assert meta["props"]["talkTime"]["instances"][0]["curve"] == "bell"


def test_files_are_pretty_sorted_and_end_with_a_newline(cfg_dir):
    for name in FILES:
        text = (cfg_dir / name).read_text(encoding="utf-8")
        assert text.endswith("}\n") or text.endswith("]\n")
        assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_same_seed_gives_byte_identical_files_and_another_seed_does_not(tmp_path):
    for name, seed in (("a", 11), ("b", 11), ("c", 12)):
        generate_config(tmp_path / "none", tmp_path / name, random.Random(seed), seed)
    assert snapshot(tmp_path / "a") == snapshot(tmp_path / "b")
    assert snapshot(tmp_path / "a")["workers.json"] != snapshot(tmp_path / "c")["workers.json"]


def test_single_valued_queue_attribute_uses_equality(tmp_path):
    domain_dir = tmp_path / "d"
    domain_dir.mkdir()
    en_us = json.loads((ROOT / "domain" / "en-us.json").read_text())
    topic = en_us["props"]["topic"]
    topic["instances"][1]["valueCnt"] = 1
    (domain_dir / "domain.json").write_text(json.dumps({"props": {"topic": topic}}))
    domain = load_domain(domain_dir)
    assert build_queues(domain)[0] == {"friendlyName": "Sales", "targetWorkers": "routing.skills == 'Sales'"}
    assert build_workflow(domain)["filters"][0]["expression"] == "topic=='Sales'"
    generate_config(domain_dir, tmp_path / "cfg", random.Random(1), 1)
    skills = load_config(tmp_path / "cfg").workers[0].attributes["routing"]["skills"]
    assert skills in ("Sales", "Service", "Support")  # one value, not a list, and the loader accepts it


def test_es_es_config_is_spanish(tmp_path):
    result = generate_config(tmp_path / "none", tmp_path / "cfg", random.Random(1), 1, locale="es-es")
    assert result.domain.data["fakerLocale"] == "es_ES"
    assert read(tmp_path / "cfg", "workflow.json")["friendlyName"] == "Industrias Búho Workflow"
    assert [q["friendlyName"] for q in read(tmp_path / "cfg", "queues.json")] == ["Ventas", "Servicio", "Soporte"]
    assert "Búho" in (tmp_path / "cfg" / "workflow.json").read_text(encoding="utf-8")  # UTF-8, not \u escapes


def test_generated_config_loads_through_the_shared_loader(tmp_path):
    generate_config(ROOT, tmp_path / "bank", random.Random(3), 3)
    config = load_config(tmp_path / "bank")
    assert config.metadata.brand == "Owl Savings Bank"
    assert [q.friendly_name for q in config.queues] == ["Checking", "CreditCard", "Mortgage", "OtherLoans"]
    assert len(config.workers) == 20
    assert config.workers[0].attributes["location"]["branch"] in ("Downtown", "Riverside", "Airport")


def test_agent_count_override(tmp_path):
    generate_config(tmp_path / "none", tmp_path / "cfg", random.Random(1), 1, agent_cnt=1001)
    workers = read(tmp_path / "cfg", "workers.json")
    assert len(workers) == 1001 and workers[-1]["friendlyName"] == "Agent_1000"


def replace_failing_at(call: int, message: str):
    """An ``os.replace`` stand-in whose ``call``-th use raises OSError(message)."""
    real_replace, calls = os.replace, []

    def failing_replace(src, dst):
        calls.append(dst)
        if len(calls) == call:
            raise OSError(message)
        real_replace(src, dst)

    return failing_replace


def test_write_is_all_or_nothing_when_a_move_fails(tmp_path, monkeypatch):
    cfg = tmp_path / "cfg"
    generate_config(tmp_path / "none", cfg, random.Random(1), 1)
    (cfg / "deploy-state.json").write_text("{}")
    before = snapshot(cfg)
    real_replace = os.replace
    monkeypatch.setattr(genconfig_module.os, "replace", replace_failing_at(3, "disk full"))
    docs = {name: {"changed": name} for name in FILES}
    with pytest.raises(OSError, match="disk full"):
        write_config(docs, cfg)
    monkeypatch.setattr(genconfig_module.os, "replace", real_replace)
    assert snapshot(cfg) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".flexsim-")] == []


def test_write_into_a_new_folder_that_fails_leaves_no_file(tmp_path, monkeypatch):
    monkeypatch.setattr(genconfig_module.os, "replace", replace_failing_at(2, "boom"))
    with pytest.raises(OSError):
        write_config({name: {} for name in FILES}, tmp_path / "new")
    assert list((tmp_path / "new").iterdir()) == []


# --- the CLI -------------------------------------------------------------------------------------


def test_cli_writes_the_files_and_prints_the_seed_it_chose(cli_runner):
    result = cli_runner.invoke(cli, ["genconfig"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[:5] == ["domain: en-us.json (built-in)", "wrote config/metadata.json",
                         "wrote config/workers.json (10 agents)", "wrote config/queues.json",
                         "wrote config/workflow.json"]
    seed = read(Path("config"), "metadata.json")["seed"]
    assert lines[5:] == [f"seed: {seed} (pass --seed {seed} to generate the same files again)"]
    again = cli_runner.invoke(cli, ["genconfig", "--seed", str(seed), "--cfgdir", "again"])
    assert again.exit_code == 0 and "seed:" not in again.output
    assert snapshot(Path("again")) == snapshot(Path("config"))


def test_cli_reads_the_seed_and_options(cli_runner, monkeypatch):
    Path("mydomain").mkdir()
    Path("mydomain/domain.json").write_text('{"agentCnt": 4}')
    monkeypatch.setenv("RANDOM_SEED", "123")
    result = cli_runner.invoke(cli, ["genconfig", "--domaindir", "mydomain", "--cfgdir", "out",
                                     "--locale", "es-es"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == ("domain: en-us.json (built-in) + es-es.json (built-in) + "
                                             "mydomain/domain.json")
    assert "wrote out/workers.json (4 agents)" in result.output and "seed:" not in result.output
    assert read(Path("out"), "metadata.json")["seed"] == 123


def test_cli_reports_every_problem_and_writes_nothing(cli_runner):
    Path("config").mkdir()
    Path("config/workers.json").write_text("old")
    Path("domain").mkdir()
    Path("domain/domain.json").write_text('{"brnad": "x", "agentCnt": 0}')
    result = cli_runner.invoke(cli, ["genconfig"])
    assert result.exit_code == 2
    assert result.output == ("Error: domain/domain.json: agentCnt: 0 is less than the minimum of 1\n"
                             "domain/domain.json: brnad: unknown key (did you mean 'brand'?)\n")
    assert snapshot(Path("config")) == {"workers.json": b"old"}


def test_cli_bad_locale_exits_2(cli_runner):
    result = cli_runner.invoke(cli, ["genconfig", "--locale", "xx-yy"])
    assert result.exit_code == 2
    assert result.output == ("Error: xx-yy.json: $: no such locale in domain nor built in "
                             "(built-in: en-us, es-es)\n")
    assert not Path("config").exists()


def test_cli_unwritable_cfgdir_is_a_one_line_error(cli_runner):
    Path("taken").write_text("a file, not a folder")
    result = cli_runner.invoke(cli, ["genconfig", "--cfgdir", "taken/config"])
    assert result.exit_code == 1
    assert result.output == "Error: cannot write the config files to taken/config: Not a directory\n"


def test_cli_help_describes_every_option(cli_runner):
    result = cli_runner.invoke(cli, ["genconfig", "--help"])
    assert result.exit_code == 0
    for option in ("--domaindir", "--cfgdir", "--locale", "--seed", "RANDOM_SEED", "Example:"):
        assert option in result.output
    assert "genconfig" in cli_runner.invoke(cli, ["--help"]).output


def test_schema_command_prints_the_packaged_schemas(cli_runner):
    result = cli_runner.invoke(cli, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False
    assert result.output == (ROOT / "src/flexsim/schemas/domain.schema.json").read_text(encoding="utf-8")
    workers = json.loads(cli_runner.invoke(cli, ["schema", "--config", "workers"]).output)
    assert workers["title"] == "flexsim workers.json"
    assert cli_runner.invoke(cli, ["schema", "--config", "nope"]).exit_code == 2
