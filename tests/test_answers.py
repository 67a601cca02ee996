"""custsim's reader of agentsim's answered-task feed (agentsim mocked with `responses`)."""

from __future__ import annotations

import logging

import responses

from flexsim.answers import AnswerFeed, AnswerPoller, feed_token

URL = "http://agentsim.test"


class Ticker:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_feed_numbers_entries_and_keeps_the_newest():
    feed = AnswerFeed(size=2)
    for sid in ("WT1", "WT2", "WT3"):
        feed.add(sid)
    assert feed.since(0) == (3, ["WT2", "WT3"])
    assert feed.since(3) == (3, [])


def test_the_token_is_a_hash_not_the_auth_token():
    assert feed_token("secret") == feed_token("secret") != feed_token("other")
    assert "secret" not in feed_token("secret")


@responses.activate
def test_poller_reports_answers_resumes_and_reads_at_most_once_per_interval():
    responses.get(f"{URL}/answered", json={"next": 2, "tasks": ["WT1", "WT2"]})
    responses.get(f"{URL}/answered", json={"next": 3, "tasks": ["WT3"]})
    seen: list[str] = []
    tick = Ticker()
    poller = AnswerPoller(URL + "/", feed_token("secret"), seen.append, min_interval=1.0, monotonic=tick)
    poller.refresh()
    poller.refresh()  # within the interval: no second read
    tick.now += 1.0
    poller.refresh()
    assert seen == ["WT1", "WT2", "WT3"]
    assert [c.request.url for c in responses.calls] == [f"{URL}/answered?after=0", f"{URL}/answered?after=2"]
    assert responses.calls[0].request.headers["Authorization"] == f"Bearer {feed_token('secret')}"


@responses.activate
def test_an_unreachable_agentsim_is_reported_once_and_retried_later(caplog):
    responses.get(f"{URL}/answered", status=404)
    responses.get(f"{URL}/answered", json={"next": 1, "tasks": ["WT9"]})
    seen: list[str] = []
    tick = Ticker()
    poller = AnswerPoller(URL, "t", seen.append, retry_after=10.0, monotonic=tick)
    with caplog.at_level(logging.WARNING, logger="flexsim.answers"):
        poller.refresh()
        tick.now += 5
        poller.refresh()  # still backing off
        tick.now += 5
        poller.refresh()
    assert seen == ["WT9"] and len(responses.calls) == 2
    assert len([r for r in caplog.records if "cannot read answered tasks" in r.getMessage()]) == 1


def test_custsim_beside_agentsim_sends_no_cancel_to_answered_tasks(emulator, cfg_dir):
    """Over real HTTP: custsim reads agentsim's feed, so handled tasks cost 3 calls, not 4."""
    import random
    import re
    from collections import Counter

    from flexsim.agentsim_server import AgentSimServer, AgentSimSettings
    from flexsim.config import load_config
    from flexsim.customers import run_custsim
    from flexsim.deploy import DeployOptions, deploy_config
    from flexsim.options import TwilioSettings
    from flexsim.taskrouter import TaskRouter

    config = load_config(cfg_dir)
    twilio = TwilioSettings(account_sid=emulator.account_sid, auth_token=emulator.auth_token,
                            workspace_sid=emulator.workspace_sid, taskrouter_url=emulator.url)
    with TaskRouter(twilio) as tr:
        deploy_config(config, tr, DeployOptions(create_missing=True))
        with AgentSimServer(config, twilio, AgentSimSettings(port=0, seed=1, speed=20), tr=tr) as agents:
            deploy_config(config, tr, DeployOptions(assign_url=agents.reservation_url))
            first = len(emulator.requests)
            sim = run_custsim(config, tr, time_limit=6, speed=20, rng=random.Random(1), agentsim_url=agents.url)
            requests = emulator.requests[first:]
    calls = Counter(m.group(1) for _, path in requests if (m := re.search(r"/Tasks/(WT[0-9a-f]{32})$", path)))
    handled = [r.sid for r in sim.records if r.outcome == "answered"]
    assert len(handled) >= 5
    # a cancel was sent only to tasks that got no answer in time; none went to an answered task
    assert all(calls[sid] <= 2 for sid in handled), {sid: calls[sid] for sid in handled}
    assert sim.summary.failed == 0
