"""The physical signal near the device's peak, read from the manifest's miner timelines.

(Prediction sets, priority, fault and fraud moved to tests/unit/cloud/test_assess_*.py; the heuristic-v1
severity curve went with the heuristic reader, replaced by the local scene model.)"""

from __future__ import annotations

from cloud_api.domain.assessments.scene import physical_at_peak
from shared_models import IncidentManifest, MinerTimeline


def test_physical_signal_is_read_near_the_peak() -> None:
    base = dict(
        device_id="d",
        incident_id="i",
        recorded_at=0.0,
        start_s=0.0,
        peak_s=12.0,
        end_s=13.0,
        clip_start_s=10.0,
        clip_duration_s=4.0,
        score=0.9,
        size_bytes=1,
        sha256="0" * 64,
        chunk_size=1,
        chunk_sha256=["0" * 64],
    )
    scores = [0.0] * 8 + [0.1, 0.7, 0.2] + [0.0] * 5  # 4 Hz: the 0.7 sits at 2.25 s, within 0.5 s of 2.0 s
    m = IncidentManifest(
        **base,
        miner_scores={"motion": 0.3},
        timelines=[
            MinerTimeline(miner="motion", rate_hz=4.0, scores=scores),
            MinerTimeline(miner="proximity", rate_hz=4.0, scores=[1.0] * 16),
        ],
    )
    assert physical_at_peak(m) == 0.7
    assert physical_at_peak(IncidentManifest(**base, miner_scores={"audio": 0.4, "proximity": 0.9})) == 0.4
    assert physical_at_peak(IncidentManifest(**base, miner_scores={"proximity": 0.9})) is None
