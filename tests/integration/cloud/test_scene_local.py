"""The local scene reader on real encoded clips from edge_agent.sample: where it looks (device peak,
sound onset, frame-change scan), what it concludes, the committed INT8 model, and bad input."""

from __future__ import annotations

import hashlib
from pathlib import Path

import av
import numpy as np
import pytest

from cloud_api.domain.assessments.scene import SceneReading, features
from cloud_api.domain.assessments.scene.local import MODEL, MODEL_PATH, LocalSceneReader
from cloud_api.domain.assessments.taxonomy import Scenario
from cloud_api.training.labelled import generated_readings
from edge_agent.sample.drive import SampleDriveSpec, write_sample_drive
from shared_models import IncidentManifest, MinerTimeline, Severity

IMPACT_S = 5.0


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("scene_local")
    impact, quiet, mute = folder / "impact.mp4", folder / "quiet.mp4", folder / "mute.mp4"
    write_sample_drive(
        impact, SampleDriveSpec(seed=21, impact_at_s=IMPACT_S, duration_s=8.0, width=640, height=360)
    )
    write_sample_drive(
        quiet, SampleDriveSpec(seed=22, impact_at_s=None, duration_s=8.0, width=640, height=360)
    )
    with (
        av.open(str(impact)) as src,
        av.open(str(mute), "w", format="mp4") as dst,
    ):  # video only, no re-encode
        out = dst.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.dts is not None:
                packet.stream = out
                dst.mux(packet)
    return {"impact": impact, "quiet": quiet, "mute": mute}


@pytest.fixture(scope="module")
def reader() -> LocalSceneReader:
    return LocalSceneReader()


def manifest_for(clip: Path, peak_in_clip: float) -> IncidentManifest:
    data = clip.read_bytes()
    audio = [0.05] * 80
    audio[round(peak_in_clip * 10)] = 0.9
    return IncidentManifest(
        device_id="dev-1",
        incident_id="inc-1",
        recorded_at=1.7e9,
        start_s=100.0 + peak_in_clip - 1,
        peak_s=100.0 + peak_in_clip,
        end_s=100.0 + peak_in_clip + 1,
        clip_start_s=100.0,
        clip_duration_s=8.0,
        score=0.8,
        miner_scores={"audio": 0.9, "motion": 0.7, "proximity": 0.6},
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        chunk_size=len(data),
        chunk_sha256=[hashlib.sha256(data).hexdigest()],
        timelines=[MinerTimeline(miner="audio", rate_hz=10.0, scores=audio)],
    )


def serious(reading: SceneReading) -> float:
    p = reading.severity_probabilities
    return p[Severity.MEDIUM] + p[Severity.HIGH]


def test_an_uploaded_impact_is_found_by_its_sound_and_read_as_a_serious_collision(
    reader: LocalSceneReader, clips: dict[str, Path]
) -> None:
    reading = reader.read(clips["impact"], None)
    assert abs(reading.signals.decoded.peak_t_s - IMPACT_S) <= 0.2
    assert (
        reading.backend == "local"
        and reading.model == MODEL
        and "not a video-language model" in reading.narrative
    )
    assert sum(reading.severity_probabilities.values()) == pytest.approx(1.0, abs=2e-3)
    assert serious(reading) > 0.5
    assert reading.scenario not in (Scenario.NONE, Scenario.NEAR_MISS)
    assert set(reading.scenario_probabilities) == set(features.MODEL_SCENARIOS)


def test_a_quiet_drive_reads_as_no_incident(reader: LocalSceneReader, clips: dict[str, Path]) -> None:
    reading = reader.read(clips["quiet"], None)
    assert reading.severity_probabilities[Severity.NONE] == max(reading.severity_probabilities.values())


def test_without_sound_a_frame_change_scan_finds_the_impact(
    reader: LocalSceneReader, clips: dict[str, Path]
) -> None:
    with av.open(str(clips["mute"])) as container:
        assert not container.streams.audio
    reading = reader.read(clips["mute"], None)
    assert abs(reading.signals.decoded.peak_t_s - IMPACT_S) <= 0.2
    assert serious(reading) > 0.5


def test_a_device_clip_is_read_around_its_manifest_peak(
    reader: LocalSceneReader, clips: dict[str, Path]
) -> None:
    reading = reader.read(clips["impact"], manifest_for(clips["impact"], IMPACT_S + 0.3))
    signals = reading.signals
    assert signals.peak_score == 0.8 and signals.peak_t_s == pytest.approx(IMPACT_S + 0.3)
    assert signals.physical_at_peak == 0.9  # from the audio timeline within 0.5 s of the peak
    assert abs(signals.decoded.peak_t_s - IMPACT_S) <= 0.2  # moved onto the largest frame change
    assert any(
        "audio miner's highest score in the clip: 0.90" in e.what and e.t_s == 5.3 for e in reading.evidence
    )
    assert [e.t_s for e in reading.evidence] == sorted(e.t_s for e in reading.evidence)
    assert "impact or skid-like sound (audio miner)" in reading.hazards


def test_a_file_that_is_not_video_is_a_clear_error(reader: LocalSceneReader, tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 20)
    with pytest.raises(ValueError, match="not a decodable video"):
        reader.read(bad, None)


def test_the_committed_model_is_static_int8_qdq() -> None:
    onnx = pytest.importorskip("onnx", reason="onnx comes with the train extra")
    model = onnx.load(str(MODEL_PATH))
    ops = {node.op_type for node in model.graph.node}
    assert {"QuantizeLinear", "DequantizeLinear", "Conv"} <= ops
    weights = [t for t in model.graph.initializer if t.data_type == onnx.TensorProto.INT8]
    assert weights, "weights are stored as INT8"
    assert MODEL_PATH.stat().st_size < 300_000
    assert MODEL_PATH.with_name("MODEL_CARD.md").read_text().count("not a video-language model") >= 1


def test_generated_readings_give_labelled_probabilities(reader: LocalSceneReader) -> None:
    rows = list(generated_readings(4, reader=reader))
    assert len(rows) == 4
    for probabilities, truth in rows:
        assert isinstance(truth, Severity)
        assert sum(probabilities.values()) == pytest.approx(1.0, abs=2e-3)
        assert np.all(np.array(list(probabilities.values())) >= 0)


def test_a_peak_at_the_clip_edge_is_read_with_a_caveat(
    reader: LocalSceneReader, clips: dict[str, Path]
) -> None:
    edge = reader.read(clips["quiet"], manifest_for(clips["quiet"], 0.4))
    assert any("repeated edge frames" in c for c in edge.caveats)
    assert "Caveat: peak at" in edge.narrative
    assert reader.read(clips["impact"], manifest_for(clips["impact"], IMPACT_S)).caveats == []
