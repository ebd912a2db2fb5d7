"""The on-disk list of live incidents waiting for their clips: what a run that dies leaves for the next."""

from __future__ import annotations

from pathlib import Path

from edge_agent.clips.pending import PendingClip, PendingClips
from edge_agent.fusion import Incident
from shared_models import MinerTimeline

T0 = 1_700_000_000.0


def _pending(incident_id: str, origin_at: float, peak_s: float) -> PendingClip:
    incident = Incident(start_s=peak_s - 0.5, peak_s=peak_s, end_s=peak_s + 0.5, score=0.8, miner_scores={})
    motion = MinerTimeline(miner="motion", rate_hz=10.0, scores=[0.1, 0.2, 0.9, 0.3])
    return PendingClip(
        incident_id=incident_id,
        incident=incident,
        origin_at=origin_at,
        timelines_from_s=peak_s - 0.2,
        timelines=[motion],
    )


def test_entries_outlive_the_process_and_come_back_oldest_first(tmp_path: Path) -> None:
    folder = tmp_path / "live_pending"
    journal = PendingClips(folder)
    journal.add(_pending("late", T0 + 100, 5.0))
    journal.add(_pending("early", T0, 50.0))  # an earlier run's clock: its peak is the older one
    journal.add(_pending("done", T0, 60.0))
    journal.remove("done")
    (folder / ".half.json.tmp").write_bytes(b"{")  # a write cut short by the crash
    (folder / "torn.json").write_bytes(b'{"incident_id": ')  # cannot happen through add(); still survived
    again = PendingClips(folder)
    assert [p.incident_id for p in again.load()] == ["early", "late"]
    assert sorted(p.name for p in folder.iterdir()) == ["early.json", "late.json"]  # the torn one dropped


def test_scores_over_a_span_read_zero_outside_what_was_kept() -> None:
    pending = _pending("x", T0, 10.0)  # scores from 9.8 s at 10 Hz: 9.8, 9.9, 10.0, 10.1
    [timeline] = pending.scores_over(9.7, 0.6)
    assert timeline.miner == "motion" and timeline.rate_hz == 10.0
    assert timeline.scores == [0.0, 0.1, 0.2, 0.9, 0.3, 0.0]
