"""The delivery loop's policy: idle / success / failure waits, doubling with jitter, reset on success."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator

import pytest

from edge_agent.publisher import Backoff, run_step_loop


class RecordingWake(threading.Event):
    """An Event whose waits are recorded and return at once, so the loop runs without sleeping."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout or 0.0)
        return True


def scripted_step(results: list[bool | None], stop: threading.Event) -> Iterator[bool | None]:
    yield from results
    stop.set()
    yield None


BACKOFF = Backoff(idle_s=5.0, success_s=0.0, fail_min_s=1.0, fail_max_s=4.0)


def run(results: list[bool | None], rng: random.Random) -> list[float]:
    stop, wake = threading.Event(), RecordingWake()
    steps = scripted_step(results, stop)
    run_step_loop(lambda: next(steps), stop, wake, BACKOFF, rng)
    return wake.waits


class NoJitter(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return 0.0


def test_failures_double_up_to_the_cap_and_success_resets() -> None:
    waits = run([False, False, False, False, True, False, None], NoJitter())
    # success_s is 0: no wait at all after a success
    assert waits == [1.0, 2.0, 4.0, 4.0, 1.0, 5.0, 5.0]


def test_a_crashing_step_counts_as_a_failure() -> None:
    stop, wake = threading.Event(), RecordingWake()
    calls = iter([RuntimeError("boom"), None])

    def step() -> bool | None:
        outcome = next(calls)
        if isinstance(outcome, Exception):
            raise outcome
        stop.set()
        return outcome

    run_step_loop(step, stop, wake, BACKOFF, NoJitter())
    assert wake.waits == [1.0, 5.0]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_jitter_stays_within_one_extra_delay(seed: int) -> None:
    waits = run([False, False, False, None], random.Random(seed))
    for wait, base in zip(waits, [1.0, 2.0, 4.0, 5.0]):
        assert base <= wait <= 2 * base
    assert len(set(waits)) == len(waits)  # jittered, not lockstep
