"""KPI math on hand-made event streams."""

from __future__ import annotations

import json

import pytest

from flexsim.kpi import compute_kpis, task_timelines

MARKED = json.dumps({"flexsim": "owl", "topic": "Sales"})


def ev(kind: str, t: float, **data) -> dict:
    return {"event_type": kind, "event_date_ms": int(t * 1000), "event_data": data}


def handled(sid: str, created: float, accepted: float, completed: float, worker: str = "WK1") -> list[dict]:
    return [ev("task.created", created, TaskSid=sid, TaskAttributes=MARKED),
            ev("reservation.accepted", accepted, TaskSid=sid, WorkerSid=worker),
            ev("task.completed", completed, TaskSid=sid)]


def signin(worker: str, t: float, activity: str = "Available", previous: str = "Offline") -> dict:
    return ev("worker.activity.update", t, WorkerSid=worker, WorkerActivityName=activity,
              WorkerPreviousActivityName=previous)


def test_asa_service_level_and_abandon_rate_in_simulated_seconds():
    events = [signin("WK1", 0.0)]
    events += handled("WT1", 1.0, 2.0, 5.0)          # wait 1 s wall = 10 s simulated
    events += handled("WT2", 2.0, 5.0, 8.0)          # wait 3 s wall = 30 s simulated
    events += [ev("task.created", 3.0, TaskSid="WT3", TaskAttributes=MARKED),
               ev("task.canceled", 6.0, TaskSid="WT3", TaskCanceledReason="abandoned"),
               ev("task.created", 9.0, TaskSid="WT4", TaskAttributes=MARKED)]   # still waiting
    kpis = compute_kpis(events, speed=10, end=10.0)
    assert (kpis.created, kpis.handled, kpis.completed, kpis.abandoned, kpis.still_waiting) == (4, 2, 2, 1, 1)
    assert kpis.asa == pytest.approx(20.0)
    assert kpis.abandon_rate == pytest.approx(0.25)
    # answered within 20 s: WT1 only; over handled + abandoned = 3
    assert kpis.service_level == pytest.approx(1 / 3)


def test_occupancy_is_busy_time_over_available_time_with_overlaps_counted_once():
    events = [signin("WK1", 0.0)]
    events += handled("WT1", 0.0, 1.0, 5.0)
    events += handled("WT2", 0.0, 3.0, 7.0)          # overlaps WT1 (multitasking): busy 1..7 = 6 s
    events += [signin("WK1", 8.0, activity="Break", previous="Available")]   # available 0..8
    events += [signin("WK2", 2.0), signin("WK2", 4.0, activity="Offline", previous="Available")]  # 2 s idle
    kpis = compute_kpis(events, end=10.0)
    assert kpis.occupancy == pytest.approx(6.0 / 10.0)


def test_marker_filters_other_tasks_and_empty_stream_gives_na():
    events = handled("WT1", 0.0, 1.0, 2.0)
    events.append(ev("task.created", 0.0, TaskSid="WT9", TaskAttributes=json.dumps({"human": True})))
    assert set(task_timelines(events, marker="flexsim")) == {"WT1"}
    empty = compute_kpis([])
    assert (empty.created, empty.asa, empty.service_level, empty.occupancy) == (0, None, None, None)
    assert "n/a" in "\n".join(empty.lines())


def test_cancel_for_another_reason_is_not_abandonment():
    events = [ev("task.created", 0.0, TaskSid="WT1", TaskAttributes=MARKED),
              ev("task.canceled", 5.0, TaskSid="WT1", TaskCanceledReason="Task TTL Exceeded")]
    kpis = compute_kpis(events)
    assert (kpis.abandoned, kpis.still_waiting, kpis.service_level) == (0, 0, None)
