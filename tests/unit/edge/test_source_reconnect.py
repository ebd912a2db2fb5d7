"""The shared wait-and-retry of a camera or stream that is not up: doubling, jittered, stoppable."""

from __future__ import annotations

import threading
import time

from edge_agent.source.reconnect import ReconnectDelay, open_patiently


def test_the_delay_doubles_up_to_its_maximum_and_resets() -> None:
    delay = ReconnectDelay(0.01, 0.04)
    stop = threading.Event()
    planned = []
    for _ in range(4):
        planned.append(delay._next_s)
        t0 = time.monotonic()
        delay.wait(stop)
        assert time.monotonic() - t0 >= planned[-1]  # the delay, plus up to as much again of jitter
    assert planned == [0.01, 0.02, 0.04, 0.04]
    delay.reset()
    assert delay._next_s == 0.01


def test_it_retries_until_something_opens_and_starts_the_next_absence_from_the_minimum() -> None:
    answers = iter([None, None, "camera"])
    delay = ReconnectDelay(0.005, 1.0)
    assert open_patiently(lambda: next(answers), delay, threading.Event()) == "camera"
    assert delay._next_s == 0.005  # reset after the open, not left at the third try's delay


def test_a_stop_ends_the_wait_and_the_retrying() -> None:
    stop = threading.Event()
    tries = []
    threading.Timer(0.05, stop.set).start()
    t0 = time.monotonic()
    assert open_patiently(lambda: tries.append(1), ReconnectDelay(10.0, 10.0), stop) is None
    assert time.monotonic() - t0 < 5.0  # the 10 s wait was cut short
    assert tries == [1]


def test_nothing_is_tried_once_stopped() -> None:
    stop = threading.Event()
    stop.set()
    assert open_patiently(lambda: "camera", ReconnectDelay(0.01, 0.01), stop) is None
