"""The rest check: an incident nothing heard (no sound track) passes only if the vehicle then slows
towards rest, whether the jolt was the camera's or a G-sensor's."""

from __future__ import annotations

import logging
import math

import pytest

from edge_agent.fusion import FusionConfig, FusionEngine, Incident
from edge_agent.fusion.rest import ForwardFlow
from edge_agent.miners.ego_motion import EgoMotion

RATE = 10.0


def ego(t: float, flow: float, valid: bool = True) -> EgoMotion:
    """One tick's camera motion whose view expands at ``flow`` per second (0.1 s since the last)."""
    return EgoMotion(t=t, scale=math.exp(flow / RATE), valid=valid)


def flows(
    before: float, after: float, peak_s: float, total_s: float, stop_after_s: float = 1.0
) -> list[float]:
    """Forward flow per tick: ``before`` until ``stop_after_s`` past the peak, ``after`` from then."""
    return [before if i / RATE < peak_s + stop_after_s else after for i in range(int(total_s * RATE))]


def fed(flow: ForwardFlow, per_tick: list[float], valid: bool = True) -> ForwardFlow:
    for i, f in enumerate(per_tick):
        flow.add(ego(i / RATE, f, valid))
    return flow


def test_reading_sees_the_fall_of_the_forward_flow() -> None:
    reading = fed(ForwardFlow(60.0), flows(0.5, 0.02, peak_s=5.0, total_s=15.0)).reading(5.0, 8.0)
    assert reading is not None
    assert reading.before == pytest.approx(0.5, rel=1e-3)
    assert reading.after == pytest.approx(0.02, rel=1e-3)


def test_a_vehicle_that_drives_on_reads_the_same_flow_after() -> None:
    reading = fed(ForwardFlow(60.0), flows(0.5, 0.5, peak_s=5.0, total_s=15.0)).reading(5.0, 8.0)
    assert reading is not None and reading.after == pytest.approx(reading.before, rel=1e-3)


def test_a_stop_later_than_the_window_is_not_seen() -> None:
    late = flows(0.5, 0.02, peak_s=5.0, total_s=20.0, stop_after_s=9.0)
    reading = fed(ForwardFlow(60.0), late).reading(5.0, 8.0)
    assert reading is not None and reading.after == pytest.approx(0.5, rel=1e-3)


def test_a_dip_of_the_flow_under_a_second_is_no_stop() -> None:
    """Poor tracking makes the flow of a car driving on dip for a few ticks; a stopped car stays stopped."""
    per_tick = [0.05 if 6.0 <= i / RATE < 6.8 else 0.5 for i in range(150)]
    reading = fed(ForwardFlow(60.0), per_tick).reading(5.0, 8.0)
    assert reading is not None and reading.after == pytest.approx(0.5, rel=1e-3)


def test_no_reading_for_a_camera_barely_moving_before() -> None:
    assert fed(ForwardFlow(60.0), flows(0.01, 0.0, peak_s=5.0, total_s=15.0)).reading(5.0, 8.0) is None


def test_no_reading_where_the_tracking_failed() -> None:
    assert fed(ForwardFlow(60.0), flows(0.5, 0.02, 5.0, 15.0), valid=False).reading(5.0, 8.0) is None


def test_a_source_ending_soon_after_the_peak_is_judged_on_what_there_is() -> None:
    """A clip that ends 1.5 s after the jolt (a real crash clip does) still shows the stop."""
    reading = fed(ForwardFlow(60.0), flows(0.5, 0.02, peak_s=5.0, total_s=6.5, stop_after_s=0.5)).reading(
        5.0, 8.0
    )
    assert reading is not None and reading.after == pytest.approx(0.02, rel=1e-3)


def test_old_flow_is_forgotten() -> None:
    flow = fed(ForwardFlow(5.0), flows(0.5, 0.02, peak_s=5.0, total_s=30.0))
    assert flow.reading(5.0, 8.0) is None  # 25 s later, the seconds around that peak are gone
    assert flow.reading(24.0, 5.0) is None  # steady at 0.02 before: barely moving


def drive(
    engine: FusionEngine, per_tick: list[float], jolts_at: list[int], bang: float | None = None
) -> list[Incident]:
    """Feed a forward flow per tick and a 0.3 s camera jolt from each tick in ``jolts_at``; with ``bang``,
    a sound track whose score is ``bang`` during each jolt."""
    out: list[Incident] = []
    for i, f in enumerate(per_tick):
        engine.observe(ego(i / RATE, f))
        jolting = any(j <= i < j + 3 for j in jolts_at)
        scores = {"motion": 0.9 if jolting else 0.0}
        if bang is not None:
            scores["audio"] = bang if jolting else 0.0
        out += engine.push(scores)
    return out + engine.finish()


def jolt_then(flow_after: float, bang: float | None, config: FusionConfig | None = None) -> list[Incident]:
    """A camera jolt at 5 s in a drive at a steady forward flow of 0.5/s, then ``flow_after`` from 6 s;
    ``bang`` None is a source without sound."""
    weights = {"motion": 0.45} | ({} if bang is None else {"audio": 0.35})
    engine = FusionEngine(config or FusionConfig(corroboration_s=0.0), weights, RATE)
    engine.hearing = frozenset() if bang is None else frozenset({"audio"})
    return drive(engine, flows(0.5, flow_after, peak_s=5.0, total_s=30.0), [50], bang)


def test_an_unheard_jolt_the_vehicle_drives_on_from_is_dropped(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        assert jolt_then(0.5, bang=None) == []
    assert "fusion.dropped reason=kept_moving peak_s=5.00" in caplog.text


def test_an_unheard_jolt_followed_by_a_stop_is_reported() -> None:
    [incident] = jolt_then(0.05, bang=None)
    assert incident.peak_s == 5.0


def test_a_heard_jolt_needs_no_stop() -> None:
    assert len(jolt_then(0.5, bang=0.9)) == 1


def test_a_jolt_the_sound_does_not_confirm_is_judged_as_if_nothing_were_heard() -> None:
    """A microphone that hears nothing it recognises must not veto the jolt that opens an incident
    without one; the incident then has to be followed by a stop, like one nothing heard."""
    rule = FusionConfig(corroboration_s=0.0, unheard_jolt_opens=True)
    [incident] = jolt_then(0.05, bang=0.0, config=rule)
    assert incident.peak_s == 5.0 and incident.miner_scores["audio"] == 0.0
    assert jolt_then(0.5, bang=0.0, config=rule) == []  # drove on: dropped by the rest check
    # The default: the quiet sound track pulls the fused score under the threshold.
    assert jolt_then(0.05, bang=0.0) == []


def test_the_rest_check_can_be_switched_off() -> None:
    assert len(jolt_then(0.5, bang=None, config=FusionConfig(corroboration_s=0.0, rest_check=False))) == 1


def test_a_dropped_incident_does_not_use_the_budget() -> None:
    """The budget counts what is uploaded; a pothole the check dropped must not crowd out the crash."""
    config = FusionConfig(corroboration_s=0.0, max_incidents_per_hour=1)
    engine = FusionEngine(config, {"motion": 1.0}, RATE)
    per_tick = [0.5 if i < 260 else 0.02 for i in range(600)]  # drives on after 5 s, stops after 25 s
    out = drive(engine, per_tick, [50, 250])
    assert [i.peak_s for i in out] == [25.0]
    assert engine.dropped == {"kept_moving": 1}
