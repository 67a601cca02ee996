"""Clocks: virtual time ordering, ties and cancelling; the wall clock firing timers at speed."""

from __future__ import annotations

import threading
import time

import pytest

from flexsim.clock import VirtualClock, WallClock


def test_virtual_clock_fires_in_time_order_and_sets_now(clock):
    log = []
    clock.call_later(30, lambda: log.append(("b", clock.now())))
    clock.call_later(10, lambda: log.append(("a", clock.now())))
    clock.call_at(clock.now() + 60, lambda: log.append(("c", clock.now())))
    clock.run()
    start = 1_700_000_000.0
    assert log == [("a", start + 10), ("b", start + 30), ("c", start + 60)]


def test_ties_fire_in_scheduling_order(clock):
    log = []
    for name in "xyz":
        clock.call_later(5, log.append, name)
    clock.run()
    assert log == ["x", "y", "z"]


def test_cancelled_timers_do_not_fire(clock):
    log = []
    timer = clock.call_later(1, log.append, "cancelled")
    clock.call_later(2, log.append, "kept")
    assert clock.pending() == 2
    timer.cancel()
    assert clock.pending() == 1
    clock.run()
    assert log == ["kept"]


def test_run_until_stops_and_sets_now():
    clock = VirtualClock()
    log = []
    clock.call_at(5, log.append, 5)
    clock.call_at(15, log.append, 15)
    clock.run(until=10)
    assert log == [5] and clock.now() == 10
    clock.advance(10)
    assert log == [5, 15] and clock.now() == 20


def test_past_times_run_now_and_callbacks_can_schedule_more():
    clock = VirtualClock(start=100)
    log = []

    def first():
        log.append(("first", clock.now()))
        clock.call_later(3, lambda: log.append(("second", clock.now())))

    clock.call_at(50, first)
    clock.run()
    assert log == [("first", 100), ("second", 103)]


def test_callback_errors_propagate_in_virtual_time(clock):
    clock.call_later(1, lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        clock.run()


def test_wall_clock_rejects_non_positive_speed():
    with pytest.raises(ValueError, match="speed must be greater than 0, not 0"):
        WallClock(speed=0)


def test_wall_clock_fires_timers_in_order_at_speed():
    clock = WallClock(speed=100.0)
    log, done = [], threading.Event()
    start_sim, start_real = clock.now(), time.monotonic()
    clock.call_later(5.0, lambda: (log.append("c"), done.set()))  # 50 ms real time at speed 100
    clock.call_later(1.0, log.append, "a")
    clock.call_later(2.0, log.append, "b")
    clock.start()
    try:
        assert done.wait(timeout=5), "timers never fired"
    finally:
        clock.stop()
    elapsed_real = time.monotonic() - start_real
    assert log == ["a", "b", "c"]
    assert elapsed_real >= 0.045  # 5 simulated seconds / speed 100, minus timer slack
    assert clock.now() - start_sim >= 5.0


def test_wall_clock_reports_a_failing_callback_and_goes_on():
    errors, done = [], threading.Event()
    clock = WallClock(speed=1000.0, on_error=lambda timer, exc: errors.append(type(exc).__name__))
    clock.call_later(1.0, lambda: 1 / 0)
    clock.call_later(2.0, done.set)
    clock.start()
    try:
        assert done.wait(timeout=5)
    finally:
        clock.stop()
    assert errors == ["ZeroDivisionError"]


def test_wall_clock_cancel_and_run_until():
    clock = WallClock(speed=1000.0)
    log = []
    timer = clock.call_later(1.0, log.append, "cancelled")
    clock.call_later(2.0, log.append, "kept")
    timer.cancel()
    clock.run(until=clock.now() + 10.0)  # returns after 10 ms of real time
    assert log == ["kept"]
