"""Every TaskRouter resource endpoint, over real HTTP with the official SDK."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import requests

pytestmark = pytest.mark.integration


def activity_sid(ws, name: str) -> str:
    return next(a.sid for a in ws.activities.list(friendly_name=name))


def test_workspace_fetch_list_and_update(ws, client, srv):
    fetched = ws.fetch()
    assert fetched.sid == srv.workspace_sid
    assert fetched.account_sid == srv.account_sid
    assert fetched.multi_task_enabled is True
    assert fetched.default_activity_name == "Offline"
    assert fetched.timeout_activity_name == "Offline"
    assert fetched.url == f"{srv.url}/v1/Workspaces/{srv.workspace_sid}"
    assert fetched.links["workers"] == f"{srv.url}/v1/Workspaces/{srv.workspace_sid}/Workers"
    assert [w.sid for w in client.taskrouter.v1.workspaces.list()] == [srv.workspace_sid]

    updated = ws.update(event_callback_url="http://127.0.0.1:9/events", events_filter="task.created, task.canceled")
    assert updated.event_callback_url == "http://127.0.0.1:9/events"
    assert updated.events_filter == "task.created, task.canceled"
    assert ws.fetch().events_filter == "task.created, task.canceled"


def test_flex_like_defaults(ws):
    assert sorted(a.friendly_name for a in ws.activities.list()) == ["Available", "Break", "Offline", "Unavailable"]
    assert {a.friendly_name: a.available for a in ws.activities.list()}["Available"] is True
    assert sorted(c.unique_name for c in ws.task_channels.list()) == ["chat", "default", "sms", "video", "voice"]
    assert [(q.friendly_name, q.target_workers) for q in ws.task_queues.list()] == [("Everyone", "1==1")]
    assert [w.friendly_name for w in ws.workflows.list()] == ["Assign to Anyone"]


def test_activities_crud_and_filters(ws):
    created = ws.activities.create(friendly_name="Lunch", available=False)
    assert created.available is False
    assert created.sid.startswith("WA")
    assert [a.sid for a in ws.activities.list(friendly_name="Lunch")] == [created.sid]
    assert {a.friendly_name for a in ws.activities.list(available="true")} == {"Available"}
    assert ws.activities(created.sid).update(friendly_name="Long lunch").friendly_name == "Long lunch"
    assert ws.activities(created.sid).fetch().friendly_name == "Long lunch"
    assert ws.activities(created.sid).delete() is True
    assert "Long lunch" not in {a.friendly_name for a in ws.activities.list()}


def test_task_channels_crud(ws):
    created = ws.task_channels.create(friendly_name="Email", unique_name="email", channel_optimized_routing=True)
    assert created.unique_name == "email"
    assert created.channel_optimized_routing is True
    assert ws.task_channels(created.sid).fetch().friendly_name == "Email"
    assert ws.task_channels("email").fetch().sid == created.sid
    assert ws.task_channels(created.sid).update(friendly_name="E-mail").friendly_name == "E-mail"
    assert ws.task_channels(created.sid).delete() is True
    assert "email" not in {c.unique_name for c in ws.task_channels.list()}


def test_workers_crud_filters_and_etag(ws):
    alice = ws.workers.create(friendly_name="alice", attributes=json.dumps({"skills": ["sales"], "level": 3}))
    bob = ws.workers.create(friendly_name="bob", activity_sid=activity_sid(ws, "Available"),
                            attributes=json.dumps({"skills": ["support"]}))
    assert alice.activity_name == "Offline" and alice.available is False
    assert bob.activity_name == "Available" and bob.available is True
    assert json.loads(ws.workers(alice.sid).fetch().attributes) == {"skills": ["sales"], "level": 3}

    assert [w.sid for w in ws.workers.list(activity_name="Available")] == [bob.sid]
    assert [w.sid for w in ws.workers.list(activity_sid=activity_sid(ws, "Offline"))] == [alice.sid]
    assert [w.sid for w in ws.workers.list(available="true")] == [bob.sid]
    assert [w.sid for w in ws.workers.list(friendly_name="alice")] == [alice.sid]
    assert [w.sid for w in ws.workers.list(target_workers_expression="skills HAS 'support'")] == [bob.sid]
    everyone = ws.task_queues.list(friendly_name="Everyone")[0]
    assert {w.sid for w in ws.workers.list(task_queue_sid=everyone.sid)} == {alice.sid, bob.sid}
    assert {w.sid for w in ws.workers.list(task_queue_name="Everyone")} == {alice.sid, bob.sid}

    info = ws.workers(alice.sid).fetch_with_http_info()
    etag = info.headers["ETag"]
    moved = ws.workers(alice.sid).update(activity_sid=activity_sid(ws, "Break"), if_match=etag)
    assert moved.activity_name == "Break"
    assert ws.workers(alice.sid).update(friendly_name="alice2").friendly_name == "alice2"
    assert ws.workers(bob.sid).delete() is True
    assert [w.sid for w in ws.workers.list()] == [alice.sid]


def test_worker_channels_by_sid_and_unique_name(ws):
    worker = ws.workers.create(friendly_name="carol")
    channels = ws.workers(worker.sid).worker_channels.list()
    assert sorted(c.task_channel_unique_name for c in channels) == ["chat", "default", "sms", "video", "voice"]
    assert all(c.configured_capacity == 1 and c.available and c.available_capacity_percentage == 100
               for c in channels)
    chat = next(c for c in channels if c.task_channel_unique_name == "chat")
    assert ws.workers(worker.sid).worker_channels("chat").fetch().sid == chat.sid
    updated = ws.workers(worker.sid).worker_channels(chat.sid).update(capacity=3, available=False)
    assert (updated.configured_capacity, updated.available) == (3, False)
    assert ws.workers(worker.sid).worker_channels("chat").fetch().configured_capacity == 3


def test_task_queues_crud_and_filters(ws):
    queue = ws.task_queues.create(friendly_name="Sales", target_workers="skills HAS 'sales'",
                                  max_reserved_workers=2, task_order="LIFO")
    assert queue.target_workers == "skills HAS 'sales'"
    assert (queue.max_reserved_workers, queue.task_order) == (2, "LIFO")
    worker = ws.workers.create(friendly_name="dan", attributes=json.dumps({"skills": ["sales"]}))
    assert {q.friendly_name for q in ws.task_queues.list(evaluate_worker_attributes='{"skills": ["sales"]}')} == {
        "Sales", "Everyone"}
    assert {q.friendly_name for q in ws.task_queues.list(worker_sid=worker.sid)} == {"Sales", "Everyone"}
    assert [q.sid for q in ws.task_queues.list(friendly_name="Sales")] == [queue.sid]
    assert ws.task_queues(queue.sid).update(task_order="FIFO").task_order == "FIFO"
    assert ws.task_queues(queue.sid).fetch().task_order == "FIFO"
    assert ws.task_queues(queue.sid).delete() is True
    assert [q.friendly_name for q in ws.task_queues.list()] == ["Everyone"]


def test_workflows_crud(ws, callback_server):
    everyone = ws.task_queues.list()[0].sid
    config = json.dumps({"task_routing": {"filters": [
        {"filter_friendly_name": "vip", "expression": "vip == true", "targets": [{"queue": everyone, "priority": 9}]}],
        "default_filter": {"queue": everyone}}})
    flow = ws.workflows.create(friendly_name="VIP first", configuration=config,
                               assignment_callback_url=f"{callback_server.url}/assign", task_reservation_timeout=30)
    assert flow.task_reservation_timeout == 30
    assert flow.document_content_type == "application/json"
    assert json.loads(flow.configuration) == json.loads(config)
    assert [f.sid for f in ws.workflows.list(friendly_name="VIP first")] == [flow.sid]
    updated = ws.workflows(flow.sid).update(task_reservation_timeout=60, re_evaluate_tasks="true")
    assert updated.task_reservation_timeout == 60
    assert ws.workflows(flow.sid).fetch().assignment_callback_url == f"{callback_server.url}/assign"
    assert ws.workflows(flow.sid).delete() is True
    assert [f.friendly_name for f in ws.workflows.list()] == ["Assign to Anyone"]


def test_tasks_crud_filters_and_if_match(ws):
    first = ws.tasks.create(attributes=json.dumps({"type": "ticket"}), task_channel="chat", priority=5)
    second = ws.tasks.create(attributes=json.dumps({"type": "call"}), timeout=600)
    assert first.assignment_status == "pending"
    assert first.task_channel_unique_name == "chat"
    assert first.workflow_friendly_name == "Assign to Anyone"
    assert first.task_queue_friendly_name == "Everyone"
    assert second.timeout == 600 and second.task_channel_unique_name == "default"

    assert {t.sid for t in ws.tasks.list(assignment_status=["pending", "reserved"])} == {first.sid, second.sid}
    assert [t.sid for t in ws.tasks.list(evaluate_task_attributes="type == 'call'")] == [second.sid]
    assert [t.sid for t in ws.tasks.list(priority=5)] == [first.sid]
    assert [t.sid for t in ws.tasks.list(ordering="Priority:desc")][0] == first.sid
    flow_sid = ws.workflows.list()[0].sid
    assert {t.sid for t in ws.tasks.list(workflow_sid=flow_sid)} == {first.sid, second.sid}

    etag = ws.tasks(first.sid).fetch_with_http_info().headers["ETag"]
    canceled = ws.tasks(first.sid).update(assignment_status="canceled", reason="no longer needed", if_match=etag)
    assert (canceled.assignment_status, canceled.reason) == ("canceled", "no longer needed")
    assert [t.sid for t in ws.tasks.list(assignment_status=["canceled"])] == [first.sid]
    assert ws.tasks(second.sid).update(priority=7).priority == 7
    assert ws.tasks(second.sid).delete() is True
    assert [t.sid for t in ws.tasks.list()] == [first.sid]


def test_comma_joined_assignment_status(srv, ws):
    task = ws.tasks.create(attributes="{}")
    response = requests.get(f"{srv.url}/v1/Workspaces/{srv.workspace_sid}/Tasks",
                            params={"AssignmentStatus": "pending,reserved"}, auth=(srv.account_sid, srv.auth_token))
    assert response.status_code == 200
    assert [t["sid"] for t in response.json()["tasks"]] == [task.sid]


def test_reservations_over_task_and_worker(ws):
    worker = ws.workers.create(friendly_name="erin", activity_sid=activity_sid(ws, "Available"))
    task = ws.tasks.create(attributes=json.dumps({"type": "ticket"}))
    reservations = ws.tasks(task.sid).reservations.list()
    assert [(r.worker_sid, r.reservation_status, r.worker_name) for r in reservations] == [
        (worker.sid, "pending", "erin")]
    rsid = reservations[0].sid
    assert ws.tasks(task.sid).fetch().assignment_status == "reserved"
    assert [r.sid for r in ws.workers(worker.sid).reservations.list(reservation_status="pending")] == [rsid]
    assert ws.workers(worker.sid).reservations(rsid).fetch().task_sid == task.sid
    etag = ws.tasks(task.sid).reservations(rsid).fetch_with_http_info().headers["ETag"]

    accepted = ws.tasks(task.sid).reservations(rsid).update(reservation_status="accepted", if_match=etag)
    assert accepted.reservation_status == "accepted"
    assert ws.tasks(task.sid).fetch().assignment_status == "assigned"
    assert ws.workers(worker.sid).worker_channels("default").fetch().assigned_tasks == 1

    ws.workers(worker.sid).reservations(rsid).update(reservation_status="wrapping")
    assert ws.tasks(task.sid).fetch().assignment_status == "wrapping"
    done = ws.workers(worker.sid).reservations(rsid).update(reservation_status="completed")
    assert done.reservation_status == "completed"
    assert ws.tasks(task.sid).fetch().assignment_status == "completed"


def test_reject_with_activity_reroutes(ws):
    first = ws.workers.create(friendly_name="fay", activity_sid=activity_sid(ws, "Available"))
    task = ws.tasks.create(attributes="{}")
    rsid = ws.tasks(task.sid).reservations.list()[0].sid
    rejected = ws.tasks(task.sid).reservations(rsid).update(reservation_status="rejected",
                                                              worker_activity_sid=activity_sid(ws, "Break"))
    assert rejected.reservation_status == "rejected"
    assert ws.workers(first.sid).fetch().activity_name == "Break"
    assert ws.tasks(task.sid).fetch().assignment_status == "pending"


def test_paging_across_several_pages(ws, srv):
    created = [ws.workers.create(friendly_name=f"agent{i:03d}").sid for i in range(120)]
    page = ws.workers.page(page_size=50)
    assert len(list(page)) == 50
    assert page.next_page_url.startswith(f"{srv.url}/v1/Workspaces/{srv.workspace_sid}/Workers?")
    assert "PageToken=" in page.next_page_url
    listed = [w.sid for w in ws.workers.list(page_size=50)]
    assert listed == created
    filtered = [w.sid for w in ws.workers.list(activity_name="Offline", page_size=7)]
    assert filtered == created
    third = page.next_page().next_page()
    assert len(list(third)) == 20 and third.next_page() is None
    assert len(ws.workers.list(limit=60)) == 60


def test_events_list_and_fetch(ws):
    task = ws.tasks.create(attributes=json.dumps({"type": "ticket"}))
    events = ws.events.list(task_sid=task.sid)
    assert "task.created" in [e.event_type for e in events]
    created = next(e for e in events if e.event_type == "task.created")
    assert created.resource_sid == task.sid
    assert created.event_data["task_sid"] == task.sid
    assert ws.events(created.sid).fetch().event_type == "task.created"
    assert all(e.event_type == "task.created" for e in ws.events.list(event_type="task.created"))


def test_statistics_endpoints(ws):
    queue = ws.task_queues.list()[0]
    flow = ws.workflows.list()[0]
    ws.workers.create(friendly_name="gil")
    ws.tasks.create(attributes="{}")
    realtime = ws.real_time_statistics().fetch()
    assert realtime.total_tasks == 1 and realtime.total_workers == 1
    assert realtime.tasks_by_status["pending"] == 1
    assert ws.cumulative_statistics().fetch().tasks_created == 1
    assert ws.statistics().fetch().realtime["total_tasks"] == 1
    assert ws.task_queues(queue.sid).real_time_statistics().fetch().total_tasks == 1
    assert ws.task_queues(queue.sid).cumulative_statistics().fetch().tasks_entered == 1
    assert ws.task_queues(queue.sid).statistics().fetch().task_queue_sid == queue.sid
    assert ws.workers.real_time_statistics().fetch().total_workers == 1
    assert ws.workflows(flow.sid).real_time_statistics().fetch().total_tasks == 1
    assert ws.workflows(flow.sid).cumulative_statistics().fetch().tasks_entered == 1
    assert ws.workflows(flow.sid).statistics().fetch().workflow_sid == flow.sid
    assert [s.task_queue_sid for s in ws.task_queues.statistics.list()] == [queue.sid]
    assert ws.workers.cumulative_statistics().fetch().reservations_created == 0
    assert ws.workers.statistics().fetch().realtime["total_workers"] == 1
    split = ws.cumulative_statistics().fetch(split_by_wait_time="5,30").split_by_wait_time
    assert set(split) == {"5", "30"}
    body = SimpleNamespace(to_dict=lambda: {"TaskQueueSids": [queue.sid]})  # the SDK calls body.to_dict()
    bulk = ws.task_queues.bulk_real_time_statistics.create(body=body)
    assert bulk.task_queue_response_count == 1
    assert bulk.task_queue_data[0]["task_queue_sid"] == queue.sid
