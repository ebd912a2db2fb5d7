"""Clips cut by remux from a mined drive: decodable, keyframe-aligned, faststart, hashed and signed."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import av
import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from edge_agent.clips import DeviceKey, build_manifest, cut_clip, new_incident_id, timelines_for_clip
from edge_agent.mining import mine_file
from edge_agent.settings import load_config
from edge_agent.source import SourceError
from shared_models import IncidentManifest, decode, encode, signing_bytes
from tests.integration.edge_media.conftest import Drive
from tests.integration.edge_media.media_tools import box_order, decoded_frames, video_packets


def test_clip_is_a_decodable_faststart_copy_of_the_span(impact_drive: Drive, tmp_path: Path) -> None:
    out = tmp_path / "clip.mp4"
    clip = cut_clip(impact_drive.path, 3.4, 11.0, out)
    assert clip.clip_start_s == 3.0  # the keyframe before 3.4 s (one per second)
    assert clip.path == str(out) and clip.size_bytes == out.stat().st_size
    assert clip.sha256 == hashlib.sha256(out.read_bytes()).hexdigest()
    frames = decoded_frames(out)
    assert frames[0] == 0.0
    assert len(frames) == pytest.approx(clip.duration_s * 30, abs=1)
    assert clip.duration_s == pytest.approx(8.0, abs=0.2)
    assert video_packets(out)[0][1]  # starts on a keyframe
    with av.open(str(out)) as c:
        assert c.streams.audio and c.streams.audio[0].codec_context.name == "aac"
        audio_s = sum(f.samples for f in c.decode(audio=0)) / c.streams.audio[0].codec_context.sample_rate
    assert audio_s == pytest.approx(clip.duration_s, abs=0.2)
    boxes = box_order(out)
    assert boxes.index(b"moov") < boxes.index(b"mdat")
    assert not list(tmp_path.glob(".*part"))


def test_packets_are_copied_not_reencoded(impact_drive: Drive, tmp_path: Path) -> None:
    out = tmp_path / "clip.mp4"
    cut_clip(impact_drive.path, 2.0, 4.0, out)
    with av.open(str(impact_drive.path)) as src, av.open(str(out)) as dst:
        original = [bytes(p) for p in src.demux(video=0) if p.size][60:120]
        copied = [bytes(p) for p in dst.demux(video=0) if p.size][:60]
    assert copied == original


def test_span_past_the_end_is_clamped_and_bad_spans_rejected(impact_drive: Drive, tmp_path: Path) -> None:
    clip = cut_clip(impact_drive.path, 12.5, 30.0, tmp_path / "tail.mp4")
    assert clip.clip_start_s == 12.0 and clip.duration_s == pytest.approx(2.0, abs=0.1)
    with pytest.raises(ValueError):
        cut_clip(impact_drive.path, 5.0, 5.0, tmp_path / "empty.mp4")
    with pytest.raises(SourceError):
        cut_clip(impact_drive.path, 40.0, 50.0, tmp_path / "none.mp4")
    with pytest.raises(SourceError):
        cut_clip(tmp_path / "absent.mp4", 0.0, 1.0, tmp_path / "x.mp4")
    assert not (tmp_path / "none.mp4").exists()


def test_incident_clip_manifest_verifies_with_the_device_key(impact_drive: Drive, tmp_path: Path) -> None:
    config = load_config(None)
    result = mine_file(impact_drive.path, config)
    [incident] = result.incidents
    clip = cut_clip(
        impact_drive.path,
        incident.peak_s - config.clip.pre_roll_s,
        incident.peak_s + config.clip.post_roll_s,
        tmp_path / "i.mp4",
    )
    key = DeviceKey.load_or_create(tmp_path / "device")
    timelines = timelines_for_clip(result.timelines, clip)
    manifest = build_manifest(
        "dev-1", new_incident_id(), incident, clip, timelines, time.time(), 65536, key, "test-fw"
    )
    assert manifest.chunk_count == -(-clip.size_bytes // 65536)
    assert [t.miner for t in manifest.timelines] == ["audio", "motion", "proximity"]
    assert all(len(t.scores) == round(clip.duration_s * 10) for t in manifest.timelines)
    received = decode(encode(manifest), IncidentManifest)
    load_pem_public_key(key.public_key_pem()).verify(received.signature, signing_bytes(received))
    data = Path(clip.path).read_bytes()
    chunks = [data[i : i + 65536] for i in range(0, len(data), 65536)]
    assert [hashlib.sha256(c).hexdigest() for c in chunks] == manifest.chunk_sha256


@pytest.mark.parametrize("end_s", [4.0, 4.05, 4.1, 4.15, 6.52])
def test_clip_end_keeps_the_b_frames_shown_before_it(impact_drive: Drive, end_s: float, tmp_path: Path) -> None:
    """The drive has B-frames: a cut on decode order alone would drop frames just before its last one."""
    out = tmp_path / "clip.mp4"
    clip = cut_clip(impact_drive.path, 2.0, end_s, out)
    frames = decoded_frames(out)
    gaps = [round(b - a, 3) for a, b in zip(frames, frames[1:], strict=False)]
    assert set(gaps) == {round(1 / 30, 3)}, "a frame shown inside the clip is missing"
    assert frames[-1] >= end_s - 2.0 - 1 / 30
    assert clip.duration_s == pytest.approx(len(frames) / 30, abs=1e-3)
