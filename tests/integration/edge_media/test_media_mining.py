"""Mining generated drives end to end: one incident at the impact, none on normal driving or a cut."""

from __future__ import annotations

import logging
import math
import weakref
from pathlib import Path

import msgspec
import numpy as np
import pytest

from edge_agent.cli import main
from edge_agent.fusion import Incident
from edge_agent.mining import MiningSession, live_history_s, mine_file
from edge_agent.settings import AgentConfig, load_config
from edge_agent.source import VideoFrame, open_source
from tests.integration.edge_media.conftest import Drive


def test_impact_gives_exactly_one_incident_at_the_impact(impact_drive: Drive) -> None:
    result = mine_file(impact_drive.path, load_config(None))
    impact = impact_drive.truth.impact_at_s
    assert impact is not None
    [incident] = result.incidents
    assert incident.start_s <= impact <= incident.end_s
    assert abs(incident.peak_s - impact) <= 1.0
    assert incident.score >= AgentConfig().fusion.enter_threshold
    assert incident.miner_scores["motion"] > 0.8 and incident.miner_scores["audio"] > 0.3
    assert (result.frames, result.fps, result.duration_s) == (420, 30.0, 14.0)
    assert set(result.timelines) == {"audio", "motion", "proximity"}
    for timeline in result.timelines.values():
        assert timeline.rate_hz == 10.0 and len(timeline.scores) == 140
        assert all(0.0 <= s <= 1.0 for s in timeline.scores)
    assert result.versions == {
        "audio": "audio-cnn-int8-4",
        "motion": "motion-mlp-int8-6",
        "proximity": "proximity-mlp-int8-6",
    }


def test_normal_drive_gives_no_incident(normal_drive: Drive) -> None:
    result = mine_file(normal_drive.path, load_config(None))
    assert result.incidents == []
    assert max(result.timelines["motion"].scores) > 0.0  # the bumps are felt, just not as a crash


def test_scene_cut_is_not_a_jolt(cut_drive: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        result = mine_file(cut_drive, load_config(None))
    assert result.incidents == []
    assert max(result.timelines["motion"].scores) < 0.5
    assert "cuts=1 " in caplog.text


def test_without_audio_the_other_miners_still_find_it(
    silent_impact_drive: Drive, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        result = mine_file(silent_impact_drive.path, load_config(None))
    assert caplog.text.count("miner.no_input kind=audio") == 1
    [incident] = result.incidents
    assert abs(incident.peak_s - 9.0) <= 1.0
    assert "audio" not in incident.miner_scores
    assert max(result.timelines["audio"].scores) == 0.0


def test_without_sound_or_g_sensor_the_jolt_must_be_followed_by_a_stop(
    impact_drive: Drive, silent_impact_drive: Drive, caplog: pytest.LogCaptureFixture
) -> None:
    """The drive's ego brakes to rest after the hit, so the camera-only incident passes the rest check;
    asking for a stop to no flow at all (rest_ratio 0) drops it, but not the one the sound witnessed."""
    config = load_config(None)
    strict = msgspec.structs.replace(config, fusion=msgspec.structs.replace(config.fusion, rest_ratio=0.0))
    with caplog.at_level(logging.INFO):
        assert len(mine_file(silent_impact_drive.path, config).incidents) == 1
        assert "reason=kept_moving" not in caplog.text
        dropped = mine_file(silent_impact_drive.path, strict)
    assert dropped.incidents == [] and dropped.dropped == {"kept_moving": 1}
    assert caplog.text.count("fusion.dropped reason=kept_moving") == 1
    assert len(mine_file(impact_drive.path, strict).incidents) == 1


def test_budget_from_config_file_applies(impact_drive: Drive, tmp_path: Path) -> None:
    config = tmp_path / "agent.toml"
    config.write_text("[fusion]\nmax_incidents_per_hour = 0\n")
    assert mine_file(impact_drive.path, load_config(config)).incidents == []


def test_cli_mine_prints_one_json_line_per_incident(
    impact_drive: Drive, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["mine", str(impact_drive.path), "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    incident = msgspec.json.decode(lines[0], type=Incident)
    assert abs(incident.peak_s - 9.0) <= 1.0


def test_mining_in_bursts_gives_what_mining_item_by_item_gives(impact_drive: Drive) -> None:
    """``[analysis] burst_s`` is a cache-locality setting: it must not change a single score."""
    by_item = AgentConfig(analysis=msgspec.structs.replace(AgentConfig().analysis, burst_s=0.0))
    in_bursts = mine_file(impact_drive.path, AgentConfig())
    one_by_one = mine_file(impact_drive.path, by_item)
    assert in_bursts.incidents == one_by_one.incidents and len(in_bursts.incidents) == 1
    assert in_bursts.timelines == one_by_one.timelines


def test_frames_between_ticks_are_let_go_at_once(impact_drive: Drive) -> None:
    """Only the first frame of each 0.1 s tick is analysed; the others must not wait in the burst, where
    they would hold megabytes of pictures and keep the decoder's memory out of the cache."""
    config = AgentConfig()
    with open_source(impact_drive.path, config.analysis.width) as source:
        info, frames = source.info, [item for item in source if isinstance(item, VideoFrame)][:25]
    assert info.fps > 2 * config.analysis.timeline_hz  # several frames per tick
    session = MiningSession(info, config)
    held: list[weakref.ref[np.ndarray]] = []
    first_of_tick: list[bool] = []
    last_tick = -1
    for frame in frames:
        tick = math.floor(frame.t * config.analysis.timeline_hz + 1e-3)
        first_of_tick.append(tick > last_tick)
        last_tick = max(last_tick, tick)
        gray = frame.gray.copy()
        held.append(weakref.ref(gray))
        session.feed(msgspec.structs.replace(frame, gray=gray))
        del gray
    assert frames[-1].t - frames[0].t < config.analysis.burst_s  # nothing mined yet: all in one burst
    alive = [ref() is not None for ref in held]
    assert alive == first_of_tick and 0 < sum(alive) < len(alive)
    assert session.frames == len(frames)


def test_live_session_forgets_old_scores_and_decides_the_same(
    impact_drive: Drive, caplog: pytest.LogCaptureFixture
) -> None:
    """A live session runs for days: it keeps only ``live_history_s`` of scores, which must change no
    decision, nor the scores of a window a clip can still ask for."""
    config = load_config(None)
    config = msgspec.structs.replace(
        config,
        clip=msgspec.structs.replace(config.clip, pre_roll_s=1.0, post_roll_s=1.0),
        fusion=msgspec.structs.replace(config.fusion, cooldown_s=2.0, max_incident_s=5.0),
        recorder=msgspec.structs.replace(config.recorder, segment_s=1.0),
    )
    history_bins = int(live_history_s(config) * config.analysis.timeline_hz)  # 57 s with these settings
    with open_source(impact_drive.path, config.analysis.width) as source:
        info, items = source.info, list(source)
    loops = 10  # 140 s of the 14 s drive, one impact every 14 s: past twice the history, so it is trimmed
    stream = [
        msgspec.structs.replace(item, t=item.t + loop * 14.0) for loop in range(loops) for item in items
    ]
    whole, live = MiningSession(info, config), MiningSession(info, config, live=True)
    longest = 0
    for item in stream:
        whole.feed(item)
        live.feed(item)
        longest = max(longest, *(len(m.track.scores) for m in live.miners))
    assert 0 < longest <= 2 * history_bins + 2 * config.analysis.timeline_hz  # bounded, not 1,400 bins
    assert all(m.track.first > 0 for m in live.miners)
    recent = live.timelines_over(130.0, 8.0)
    assert recent == whole.timelines_over(130.0, 8.0) and max(recent[1].scores) > 0.5  # the last jolt
    with caplog.at_level(logging.WARNING):
        assert max(live.timelines_over(5.0, 8.0)[1].scores) == 0.0  # the first impact: forgotten
    assert "mining.history_forgotten" in caplog.text
    whole_result, live_result = whole.finish(), live.finish()
    assert live_result.incidents == whole_result.incidents and len(live_result.incidents) == loops
    assert live_result.timelines == {} and len(whole_result.timelines["motion"].scores) == 1400
