"""Clock offset against the cloud, from the issued_at of its commands (no NTP)."""

from __future__ import annotations

import pytest

from edge_agent.health import ClockOffset


def test_clock_offset_is_the_best_of_the_recent_readings() -> None:
    clock = ClockOffset()
    assert clock.estimate_s() is None
    for delay in (0.40, 0.05, 0.90):  # the same 2 s offset seen through different broker delays
        clock.observe(remote_at=1000.0, local_at=1000.0 - 2.0 + delay)
    assert clock.estimate_s() == pytest.approx(1.95)


def test_old_readings_roll_out_so_a_stepped_clock_is_relearned() -> None:
    clock = ClockOffset()
    clock.observe(remote_at=1000.0, local_at=990.0)  # 10 s behind
    for i in range(8):  # then NTP stepped the device clock: the cloud is 1 s ahead now
        clock.observe(remote_at=2000.0 + i, local_at=1999.0 + i)
    assert clock.estimate_s() == pytest.approx(1.0)
