"""deploy and cleansim against the TaskRouter emulator, over real HTTP with the official SDK."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time

import pytest

from flexsim.cleanup import CleanupOptions, clean_workspace
from flexsim.cli import cli
from flexsim.config import load_config
from flexsim.deploy import DeployOptions, OwnershipConflict, PrerequisitesMissing, deploy_config
from flexsim.genconfig import generate_config
from flexsim.options import TwilioSettings
from flexsim.ownership import OWNER_CLAUSE, is_flexsim_queue, is_flexsim_workflow, referenced_queue_sids
from flexsim.taskrouter import TaskRouter, parse_attributes
from flexsim.workspace import WorkspaceNotFound

pytestmark = pytest.mark.integration

ASSIGN_URL = "http://127.0.0.1:9/reservation"  # never called: every worker stays Offline
HUMAN_ATTRIBUTES = {"contact_uri": "client:alice", "full_name": "Alice Human", "routing": {"skills": ["Sales"]}}


def make_config(tmp_path, seed: int, agents: int | None = None, name: str = "cfg"):
    cfgdir = tmp_path / f"{name}{seed}"
    (tmp_path / "domain").mkdir(exist_ok=True)
    generate_config(tmp_path / "domain", cfgdir, random.Random(seed), seed, agent_cnt=agents)
    return load_config(cfgdir)


def settings_for(srv, **overrides) -> TwilioSettings:
    fields = dict(account_sid=srv.account_sid, auth_token=srv.auth_token, workspace_sid=srv.workspace_sid,
                  taskrouter_url=srv.url)
    fields.update(overrides)
    return TwilioSettings(**fields)


def writes(srv, since: int = 0) -> list[tuple[str, str]]:
    return [r for r in srv.requests[since:] if r[0] != "GET"]


@pytest.fixture
def tr(emulator):
    with TaskRouter(settings_for(emulator)) as client:
        yield client


@pytest.fixture
def config(tmp_path):
    return make_config(tmp_path, seed=1)


@pytest.fixture
def bystanders(tr):
    """A human worker, a non-flexsim queue and a non-flexsim task that must survive everything."""
    ws = tr.workspace
    human = ws.workers.create(friendly_name="alice", attributes=json.dumps(HUMAN_ATTRIBUTES))
    billing = ws.task_queues.create(friendly_name="Billing", target_workers="routing.skills HAS 'Billing'")
    anyone = next(w for w in tr.list_workflows() if w.friendly_name == "Assign to Anyone")
    task = ws.tasks.create(workflow_sid=anyone.sid, attributes=json.dumps({"topic": "Sales", "type": "human"}))
    return {"worker": human, "queue": billing, "task": task}


def assert_untouched(tr, bystanders) -> None:
    human = tr.fetch_worker(bystanders["worker"].sid)
    assert parse_attributes(human.attributes) == HUMAN_ATTRIBUTES
    assert human.activity_sid == bystanders["worker"].activity_sid
    queue = tr.workspace.task_queues(bystanders["queue"].sid).fetch()
    assert queue.target_workers == "routing.skills HAS 'Billing'"
    task = tr.workspace.tasks(bystanders["task"].sid).fetch()
    assert task.assignment_status == bystanders["task"].assignment_status
    assert json.loads(task.attributes) == {"topic": "Sales", "type": "human"}


def flexsim_workers(tr) -> list:
    return [w for w in tr.list_workers() if parse_attributes(w.attributes).get("flexsim") is True]


def test_missing_prerequisites_are_all_reported_before_any_write(emulator, tr, config):
    with pytest.raises(PrerequisitesMissing) as info:
        deploy_config(config, tr, DeployOptions(assign_url=ASSIGN_URL))
    message = str(info.value)
    assert "Activity 'Busy'" in message and "Activity 'Lunch'" in message
    assert "--create-missing" in message
    assert writes(emulator) == []


def test_deploy_creates_everything_and_leaves_bystanders_alone(emulator, tr, config, bystanders):
    start = len(emulator.requests)
    report = deploy_config(config, tr, DeployOptions(assign_url=ASSIGN_URL, create_missing=True))
    assert report.plan.summary()[:1] == ["activities: 2 created, 0 updated, 0 removed, 0 unchanged"]
    assert report.writes == len(writes(emulator, start))

    workers = {w.friendly_name: w for w in flexsim_workers(tr)}
    assert sorted(workers) == [w.friendly_name for w in config.workers]
    spec = config.workers[0]
    assert parse_attributes(workers[spec.friendly_name].attributes) == spec.attributes
    channels = {c.task_channel_unique_name: c.configured_capacity
                for c in tr.list_worker_channels(workers[spec.friendly_name].sid)}
    for name, capacity in config.channel_capacities().items():
        assert channels[name] == capacity

    queues = {q.friendly_name: q for q in tr.list_task_queues()}
    for spec in config.queues:
        assert is_flexsim_queue(queues[spec.friendly_name].target_workers)
        assert queues[spec.friendly_name].target_workers == f"({spec.target_workers}) OR ({OWNER_CLAUSE})"
    [workflow] = [w for w in tr.list_workflows() if w.friendly_name == config.workflow.friendly_name]
    assert workflow.sid == report.workflow_sid
    assert workflow.assignment_callback_url == ASSIGN_URL
    assert workflow.task_reservation_timeout == 120
    routing = json.loads(workflow.configuration)["task_routing"]
    first = routing["filters"][0]
    assert first["expression"] == config.workflow.filters[0].expression
    assert first["targets"] == [{"queue": queues[config.workflow.filters[0].queue].sid, "timeout": 300}]
    assert routing["default_filter"] == {"queue": queues["Everyone"].sid}
    assert is_flexsim_workflow(workflow.configuration)
    assert_untouched(tr, bystanders)


def test_second_deploy_makes_zero_writes(emulator, tr, config):
    deploy_config(config, tr, DeployOptions(assign_url=ASSIGN_URL, create_missing=True))
    start = len(emulator.requests)
    report = deploy_config(config, tr, DeployOptions(assign_url=ASSIGN_URL))
    assert writes(emulator, start) == []
    assert report.writes == 0 and report.plan.writes == 0
    assert len(emulator.requests) > start  # it did read


def test_dry_run_plans_and_writes_nothing(emulator, tr, config):
    report = deploy_config(config, tr, DeployOptions(assign_url=ASSIGN_URL, create_missing=True, dry_run=True))
    assert writes(emulator) == []
    lines = report.plan.describe()
    assert "+ create activity 'Busy'" in lines
    assert "+ create queue 'Sales'" in lines
    assert "+ create worker 'Agent_000'" in lines
    assert "~ update worker channel 'Agent_000/chat': capacity: 1 -> 2" in lines
    assert any(line.startswith("+ create workflow 'Owl Industries Workflow'") for line in lines)
    assert report.summary()[0].startswith("(dry run) would change")


def test_foreign_sales_queue_is_a_conflict_unless_adopted(emulator, tr, config):
    sales = tr.workspace.task_queues.create(friendly_name="Sales", target_workers="1==1")
    start = len(emulator.requests)
    with pytest.raises(OwnershipConflict) as info:
        deploy_config(config, tr, DeployOptions(assign_url=ASSIGN_URL, create_missing=True))
    assert f"TaskQueue 'Sales' ({sales.sid})" in str(info.value)
    assert "--adopt" in str(info.value)
    assert writes(emulator, start) == []
    assert tr.workspace.task_queues(sales.sid).fetch().target_workers == "1==1"

    deploy_config(config, tr, DeployOptions(assign_url=ASSIGN_URL, create_missing=True, adopt=True))
    adopted = tr.workspace.task_queues(sales.sid).fetch()
    assert adopted.target_workers == f"(routing.skills HAS 'Sales') OR ({OWNER_CLAUSE})"


def test_foreign_worker_with_a_config_name_is_a_conflict(emulator, tr, config):
    tr.workspace.workers.create(friendly_name="Agent_003", attributes=json.dumps({"mine": True}))
    with pytest.raises(OwnershipConflict) as info:
        deploy_config(config, tr, DeployOptions(assign_url=ASSIGN_URL, create_missing=True))
    assert "Worker 'Agent_003'" in str(info.value)


def test_redeploy_of_a_regenerated_config_updates_in_place(emulator, tr, tmp_path, bystanders):
    first = make_config(tmp_path, seed=1)
    report1 = deploy_config(first, tr, DeployOptions(assign_url=ASSIGN_URL, create_missing=True))
    before = {w.friendly_name: w.sid for w in flexsim_workers(tr)}
    second = make_config(tmp_path, seed=2, agents=7)
    report2 = deploy_config(second, tr, DeployOptions(assign_url=ASSIGN_URL))
    assert report2.workflow_sid == report1.workflow_sid
    after = {w.friendly_name: w for w in flexsim_workers(tr)}
    assert sorted(after) == [w.friendly_name for w in second.workers]
    for name, worker in after.items():
        assert worker.sid == before[name]  # updated, not recreated
        assert parse_attributes(worker.attributes) == second.worker(name).attributes
    counts = report2.plan.counts()["worker"]
    assert counts["delete"] == 3 and counts["create"] == 0
    assert_untouched(tr, bystanders)
    start = len(emulator.requests)
    deploy_config(second, tr, DeployOptions(assign_url=ASSIGN_URL))
    assert writes(emulator, start) == []


def test_renamed_workflow_keeps_its_sid_and_stale_queues_go(emulator, tr, config, tmp_path):
    report = deploy_config(config, tr, DeployOptions(assign_url=ASSIGN_URL, create_missing=True))
    cfgdir = config.cfgdir
    flow = json.loads((cfgdir / "workflow.json").read_text())
    flow["friendlyName"] = "Renamed Workflow"
    flow["filters"] = flow["filters"][:2]
    (cfgdir / "workflow.json").write_text(json.dumps(flow))
    queues = json.loads((cfgdir / "queues.json").read_text())
    (cfgdir / "queues.json").write_text(json.dumps(queues[:2]))
    stale = queues[2]["friendlyName"]
    report2 = deploy_config(load_config(cfgdir), tr, DeployOptions(assign_url=ASSIGN_URL))
    assert report2.workflow_sid == report.workflow_sid
    workflow = tr.workspace.workflows(report.workflow_sid).fetch()
    assert workflow.friendly_name == "Renamed Workflow"
    names = {q.friendly_name for q in tr.list_task_queues()}
    assert stale not in names and queues[0]["friendlyName"] in names
    assert all(sid.startswith("WQ") for sid in referenced_queue_sids(workflow.configuration))


def poll(check, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not met before the deadline")


def test_cleansim_ends_flexsim_tasks_and_signs_workers_out(emulator, tr, config, bystanders):
    report = deploy_config(config, tr, DeployOptions(create_missing=True))  # no callback: accept over REST
    ws = tr.workspace
    available = next(a for a in tr.list_activities() if a.friendly_name == "Available")
    sales_worker = next(w for w in config.workers if "Sales" in w.attributes["routing"]["skills"])
    worker_sid = next(w.sid for w in flexsim_workers(tr) if w.friendly_name == sales_worker.friendly_name)
    ws.workers(worker_sid).update(activity_sid=available.sid)
    assigned = ws.tasks.create(workflow_sid=report.workflow_sid,
                               attributes=json.dumps({"flexsim": True, "topic": "Sales"}), task_channel="voice")
    reservation = poll(lambda: ws.tasks(assigned.sid).reservations.list())[0]
    ws.tasks(assigned.sid).reservations(reservation.sid).update(reservation_status="accepted")
    poll(lambda: ws.tasks(assigned.sid).fetch().assignment_status == "assigned")
    waiting = [ws.tasks.create(workflow_sid=report.workflow_sid,
                               attributes=json.dumps({"flexsim": True, "topic": "Support"}), task_channel="chat")
               for _ in range(3)]

    result = clean_workspace(tr, CleanupOptions())
    summary = result.summary()
    assert summary[0].startswith("tasks: ") and "1 completed, 4 deleted" in summary[0]
    remaining = [t for t in tr.list_tasks() if parse_attributes(t.attributes).get("flexsim")]
    assert remaining == []
    for task in [assigned, *waiting]:
        assert task.sid not in {t.sid for t in tr.list_tasks()}
    assert not any(w.available for w in flexsim_workers(tr))
    assert all(w.activity_name == "Offline" for w in flexsim_workers(tr))
    assert_untouched(tr, bystanders)


def test_cleansim_all_removes_workers_workflow_and_queues_only(emulator, tr, config, bystanders):
    deploy_config(config, tr, DeployOptions(assign_url=ASSIGN_URL, create_missing=True))
    dry = clean_workspace(tr, CleanupOptions(delete_workers=True, remove_all=True, dry_run=True))
    assert len(dry.plan.of("worker")) == len(config.workers)
    assert flexsim_workers(tr)  # the dry run removed nothing
    clean_workspace(tr, CleanupOptions(delete_workers=True, remove_all=True))
    assert flexsim_workers(tr) == []
    assert not any(is_flexsim_workflow(w.configuration) for w in tr.list_workflows())
    names = {q.friendly_name for q in tr.list_task_queues()}
    assert names == {"Everyone", "Billing"}
    assert_untouched(tr, bystanders)
    again = clean_workspace(tr, CleanupOptions(delete_workers=True, remove_all=True))
    assert again.summary() == ["nothing to clean: the workspace holds no flexsim tasks, workers, queues or workflow"]


def test_deploy_survives_injected_rate_limits(tmp_path):
    from flexsim.emulator.server import EmulatorServer

    config = make_config(tmp_path, seed=3, agents=5)
    with EmulatorServer(port=0, seed=5, error_rate=0.1) as srv, TaskRouter(settings_for(srv)) as client:
        deploy_config(config, client, DeployOptions(assign_url=ASSIGN_URL, create_missing=True))
        assert len(flexsim_workers(client)) == 5


# ------------------------------------------------------------------------------------- the CLI

def env_for(srv) -> dict[str, str]:
    return {"ACCOUNT_SID": srv.account_sid, "AUTH_TOKEN": srv.auth_token, "WRKSPC_SID": srv.workspace_sid,
            "TASKROUTER_URL": srv.url}


def test_cli_deploy_then_cleansim(emulator, cli_runner, tmp_path):
    assert cli_runner.invoke(cli, ["genconfig", "--seed", "1"], catch_exceptions=False).exit_code == 0
    result = cli_runner.invoke(cli, ["deploy", "--create-missing", "--assignURL", ASSIGN_URL],
                               env=env_for(emulator), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "workers: 10 created, 0 updated, 0 removed, 0 unchanged" in result.output
    assert "Deploying workers" in result.output  # the progress bar's label (no terminal: label only)
    again = cli_runner.invoke(cli, ["deploy"], env={**env_for(emulator), "ASSIGN_URL": ASSIGN_URL},
                              catch_exceptions=False)
    assert "workers: 0 created, 0 updated, 0 removed, 10 unchanged" in again.output
    assert again.output.rstrip().endswith(" 0 of them writes")
    clean = cli_runner.invoke(cli, ["cleansim", "--dletWorkers", "--all"], env=env_for(emulator),
                              catch_exceptions=False)
    assert clean.exit_code == 0
    assert "workers: 0 signed out, 10 deleted, 10 already offline" in clean.output
    assert "workflows: 1 removed" in clean.output and "queues: 3 removed" in clean.output


def test_cli_missing_assign_url_warns(emulator, cli_runner):
    cli_runner.invoke(cli, ["genconfig", "--seed", "1"], catch_exceptions=False)
    result = cli_runner.invoke(cli, ["deploy", "--create-missing", "--dry-run", "--concurrency", "3"],
                               env=env_for(emulator), catch_exceptions=False)
    assert result.exit_code == 0
    assert "no reservations will reach agentsim" in result.output
    assert ", concurrency 3" in result.output
    assert writes(emulator) == []


def test_cli_conflict_is_one_error_with_exit_1(emulator, cli_runner, tr):
    tr.workspace.task_queues.create(friendly_name="Sales", target_workers="1==1")
    cli_runner.invoke(cli, ["genconfig", "--seed", "1"], catch_exceptions=False)
    result = cli_runner.invoke(cli, ["deploy", "--create-missing"], env=env_for(emulator), catch_exceptions=False)
    assert result.exit_code == 1
    assert "Error: resources with the config's names exist but were not created by flexsim" in result.output
    assert "Traceback" not in result.output


def test_cli_bad_credentials_give_a_one_line_error(emulator, cli_runner):
    env = {**env_for(emulator), "AUTH_TOKEN": "0" * 32}
    result = cli_runner.invoke(cli, ["cleansim"], env=env, catch_exceptions=False)
    assert result.exit_code == 1
    [line] = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert line.startswith(f"Error: fetch workspace ({emulator.workspace_sid}) failed: Twilio error 20003")
    assert "Traceback" not in result.output


def test_cli_cleansim_on_an_empty_workspace(emulator, cli_runner):
    result = cli_runner.invoke(cli, ["cleansim"], env=env_for(emulator), catch_exceptions=False)
    assert result.exit_code == 0
    assert "nothing to clean" in result.output


def test_every_missing_prerequisite_is_listed_and_created_activities_are_unavailable(emulator, tr, config):
    sms = next(c for c in tr.list_task_channels() if c.unique_name == "sms")
    tr.workspace.task_channels(sms.sid).delete()
    for workflow in tr.list_workflows():  # "Assign to Anyone" routes to Everyone: remove both
        tr.workspace.workflows(workflow.sid).delete()
    everyone = next(q for q in tr.list_task_queues() if q.friendly_name == "Everyone")
    tr.workspace.task_queues(everyone.sid).delete()
    start = len(emulator.requests)
    with pytest.raises(PrerequisitesMissing) as info:
        deploy_config(config, tr, DeployOptions(assign_url=ASSIGN_URL))
    problems = info.value.problems
    assert any(p.startswith("TaskChannel 'sms'") for p in problems)
    assert any(p.startswith("Activity 'Busy'") for p in problems)
    assert any(p.startswith("Activity 'Lunch'") for p in problems)
    assert any(p.startswith("TaskQueue 'Everyone'") for p in problems)
    assert writes(emulator, start) == []

    deploy_config(config, tr, DeployOptions(assign_url=ASSIGN_URL, create_missing=True))
    assert "sms" in {c.unique_name for c in tr.list_task_channels()}
    activities = {a.friendly_name: a.available for a in tr.list_activities()}
    for activity in config.activities():
        assert activities[activity.name] is (activity.name == "Available")
    assert "Everyone" in {q.friendly_name for q in tr.list_task_queues()}


def test_unknown_workspace_is_reported_before_any_write(emulator, config):
    with TaskRouter(settings_for(emulator, workspace_sid="WS" + "0" * 32)) as client:
        with pytest.raises(WorkspaceNotFound) as info:
            deploy_config(config, client, DeployOptions(assign_url=ASSIGN_URL, create_missing=True))
    assert "WS" + "0" * 32 in str(info.value) and "--wrkspc" in str(info.value)
    assert writes(emulator) == []


def test_removed_workers_go_offline_first_rejecting_pending_reservations(emulator, tr, config):
    report = deploy_config(config, tr, DeployOptions(create_missing=True))  # no callback: reservations stay pending
    ws = tr.workspace
    activities = {a.friendly_name: a.sid for a in tr.list_activities()}
    busy = next(a.friendly_name for a in tr.list_activities()
                if not a.available and a.friendly_name != "Offline")
    sales = next(w.friendly_name for w in config.workers if "Sales" in w.attributes["routing"]["skills"])
    resting = next(w.friendly_name for w in config.workers if w.friendly_name != sales)
    sids = {w.friendly_name: w.sid for w in flexsim_workers(tr)}
    ws.workers(sids[sales]).update(activity_sid=activities["Available"])
    ws.workers(sids[resting]).update(activity_sid=activities[busy])
    task = ws.tasks.create(workflow_sid=report.workflow_sid, task_channel="voice",
                           attributes=json.dumps({"flexsim": True, "topic": "Sales"}))
    poll(lambda: ws.tasks(task.sid).fetch().assignment_status == "reserved")

    workers = json.loads((config.cfgdir / "workers.json").read_text())
    kept = [w for w in workers if w["friendlyName"] not in (sales, resting)]
    (config.cfgdir / "workers.json").write_text(json.dumps(kept))
    metadata = json.loads((config.cfgdir / "metadata.json").read_text())
    (config.cfgdir / "metadata.json").write_text(json.dumps({**metadata, "agentCnt": len(kept)}))
    start = len(emulator.requests)
    report2 = deploy_config(load_config(config.cfgdir), tr, DeployOptions())
    assert report2.plan.counts()["worker"]["delete"] == 2
    for name in (sales, resting):  # signed out (to Offline), then deleted: in that order
        path = f"/v1/Workspaces/{emulator.workspace_sid}/Workers/{sids[name]}"
        assert [m for m, p in emulator.requests[start:] if p == path and m != "GET"] == ["POST", "DELETE"]
    assert {w.friendly_name for w in flexsim_workers(tr)} == {w["friendlyName"] for w in kept}
    assert ws.tasks(task.sid).fetch().assignment_status == "pending"  # its reservation was rejected


def test_foreign_workflow_with_the_config_name_is_a_conflict_unless_adopted(emulator, tr, config):
    everyone = next(q for q in tr.list_task_queues() if q.friendly_name == "Everyone")
    theirs = tr.workspace.workflows.create(
        friendly_name=config.workflow.friendly_name,
        configuration=json.dumps({"task_routing": {"filters": [], "default_filter": {"queue": everyone.sid}}}))
    start = len(emulator.requests)
    with pytest.raises(OwnershipConflict) as info:
        deploy_config(config, tr, DeployOptions(assign_url=ASSIGN_URL, create_missing=True))
    assert f"Workflow '{config.workflow.friendly_name}' ({theirs.sid})" in str(info.value)
    assert writes(emulator, start) == []
    report = deploy_config(config, tr, DeployOptions(assign_url=ASSIGN_URL, create_missing=True, adopt=True))
    assert report.workflow_sid == theirs.sid  # adopted in place
    assert is_flexsim_workflow(tr.workspace.workflows(theirs.sid).fetch().configuration)


def test_issue_scenario_human_worker_sales_queue_and_task_survive(emulator, tr, config):
    """The issue's integration case: a human worker, a foreign `Sales` queue and a foreign task."""
    ws = tr.workspace
    available = next(a.sid for a in tr.list_activities() if a.friendly_name == "Available")
    human = ws.workers.create(friendly_name="bob", attributes=json.dumps(HUMAN_ATTRIBUTES), activity_sid=available)
    sales = ws.task_queues.create(friendly_name="Sales", target_workers="routing.skills HAS 'Sales'")
    billing = ws.task_queues.create(friendly_name="Billing", target_workers="routing.skills HAS 'Billing'")
    theirs = ws.workflows.create(friendly_name="Human flow", configuration=json.dumps(
        {"task_routing": {"filters": [], "default_filter": {"queue": billing.sid}}}))
    foreign_task = ws.tasks.create(workflow_sid=theirs.sid, attributes=json.dumps({"type": "human"}))

    start = len(emulator.requests)
    with pytest.raises(OwnershipConflict):
        deploy_config(config, tr, DeployOptions(create_missing=True))
    assert writes(emulator, start) == []
    assert ws.task_queues(sales.sid).fetch().target_workers == "routing.skills HAS 'Sales'"
    report = deploy_config(config, tr, DeployOptions(create_missing=True, adopt=True))  # no callback URL

    # Flexsim's workers are all Offline, so a flexsim Sales task is reserved to the human.
    flexsim_task = ws.tasks.create(workflow_sid=report.workflow_sid, task_channel="voice",
                                   attributes=json.dumps({"flexsim": True, "topic": "Sales"}))
    [reservation] = poll(lambda: ws.tasks(flexsim_task.sid).reservations.list())
    assert reservation.worker_sid == human.sid and reservation.reservation_status == "pending"

    cleaned = clean_workspace(tr, CleanupOptions(delete_workers=True))
    assert [c.fields["assignment_status"] for c in cleaned.plan.of("task")] == [("reserved", "canceled")]
    assert [t.sid for t in tr.list_tasks()] == [foreign_task.sid]
    still = tr.fetch_worker(human.sid)
    assert parse_attributes(still.attributes) == HUMAN_ATTRIBUTES and still.activity_sid == available
    assert ws.tasks(foreign_task.sid).fetch().assignment_status == "pending"
    assert ws.workflows(theirs.sid).fetch().configuration == theirs.configuration
    assert ws.task_queues(billing.sid).fetch().target_workers == "routing.skills HAS 'Billing'"
    assert flexsim_workers(tr) == []
    human_paths = {f"/v1/Workspaces/{emulator.workspace_sid}/{kind}/{sid}"
                   for kind, sid in (("Workers", human.sid), ("Tasks", foreign_task.sid),
                                     ("Workflows", theirs.sid), ("TaskQueues", billing.sid))}
    assert [r for r in writes(emulator, start) if r[1] in human_paths] == []


def test_cleansim_ends_each_status_the_way_taskrouter_allows(emulator, tr, config):
    report = deploy_config(config, tr, DeployOptions(create_missing=True))
    ws = tr.workspace
    available = next(a.sid for a in tr.list_activities() if a.friendly_name == "Available")
    sales = next(w.friendly_name for w in config.workers if "Sales" in w.attributes["routing"]["skills"])
    worker = next(w.sid for w in flexsim_workers(tr) if w.friendly_name == sales)
    ws.workers(worker).update(activity_sid=available)

    def new_task(channel: str):
        return ws.tasks.create(workflow_sid=report.workflow_sid, task_channel=channel,
                               attributes=json.dumps({"flexsim": True, "topic": "Sales"}))

    def accept(task) -> None:
        [res] = poll(lambda: ws.tasks(task.sid).reservations.list())
        ws.tasks(task.sid).reservations(res.sid).update(reservation_status="accepted")
        poll(lambda: ws.tasks(task.sid).fetch().assignment_status == "assigned")

    assigned, wrapping = new_task("voice"), new_task("chat")
    accept(assigned)
    accept(wrapping)
    ws.tasks(wrapping.sid).update(assignment_status="wrapping")
    reserved = new_task("chat")  # the worker's second chat slot: reserved, not accepted
    poll(lambda: ws.tasks(reserved.sid).fetch().assignment_status == "reserved")
    pending = new_task("chat")  # both chat slots taken: it waits
    expected = {assigned.sid: ("assigned", "completed"), wrapping.sid: ("wrapping", "completed"),
                reserved.sid: ("reserved", "canceled"), pending.sid: ("pending", "canceled")}

    dry = clean_workspace(tr, CleanupOptions(dry_run=True))
    assert {c.sid: c.fields["assignment_status"] for c in dry.plan.of("task")} == expected
    result = clean_workspace(tr, CleanupOptions())
    assert result.summary()[0] == "tasks: 2 canceled, 2 completed, 4 deleted"
    assert [t for t in tr.list_tasks() if parse_attributes(t.attributes).get("flexsim")] == []
    assert not any(w.available for w in flexsim_workers(tr))


def test_cli_cleansim_after_the_config_changed_removes_every_flexsim_worker(emulator, cli_runner, tmp_path):
    assert cli_runner.invoke(cli, ["genconfig", "--seed", "1"], catch_exceptions=False).exit_code == 0
    deployed = cli_runner.invoke(cli, ["deploy", "--create-missing"], env=env_for(emulator), catch_exceptions=False)
    assert deployed.exit_code == 0, deployed.output
    generate_config("domain", "config", random.Random(2), 2, agent_cnt=3)  # the config now names 3 agents
    result = cli_runner.invoke(cli, ["cleansim", "--delete-workers"], env=env_for(emulator), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "workers: 0 signed out, 10 deleted, 10 already offline" in result.output
    with TaskRouter(settings_for(emulator)) as client:
        assert flexsim_workers(client) == []


def test_verbose_flag_adds_the_traceback_to_the_one_line_error(emulator, tmp_path):
    make_config(tmp_path, seed=1)
    env = {**os.environ, **env_for(emulator), "AUTH_TOKEN": "0" * 32}
    command = [sys.executable, "-m", "flexsim", "deploy", "--cfgdir", str(tmp_path / "cfg1")]
    quiet = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    loud = subprocess.run(command[:3] + ["-v"] + command[3:], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    error = f"Error: fetch workspace ({emulator.workspace_sid}) failed: Twilio error 20003: Authenticate"
    for run in (quiet, loud):
        assert run.returncode == 1
        assert error in run.stderr.splitlines()
    assert "Traceback" not in quiet.stderr + quiet.stdout
    assert "Traceback (most recent call last)" in loud.stderr
    assert "flexsim.errors.TwilioRequestFailed" in loud.stderr
