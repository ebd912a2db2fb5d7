"""``python -m edge_agent.evaluation`` end to end on a tiny generated set (the real part skipped here), and
the real-sound table on sound files written here."""

from __future__ import annotations

import wave
from pathlib import Path

import msgspec
import numpy as np
import pytest

from edge_agent.evaluation.__main__ import main
from edge_agent.evaluation.sounds import sound_results


def test_eval_runs_on_a_tiny_generated_set_and_skips_missing_real_clips(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "eval.json"
    args = ["--real", str(tmp_path / "absent"), "--crashes-per-kind", "1", "--near-misses", "0"]
    args += ["--normal-hours", "0.01", "--cuts", "1", "--json", str(out)]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "real clips skipped" in text and "labels.tsv not found" in text
    report = msgspec.json.decode(out.read_bytes())
    names = [c["name"] for c in report["clips"]]
    # rear-end, side, pedestrian and one normal drive, each also without sound, the crashes also with a
    # cabin sound, one cut clip
    assert len(names) == 12 and "gen_normal_200004_gsensor_silent" in names
    assert "gen_side_impact_200002_silent" in names and "gen_side_impact_200002_cabin" in names
    assert all(c["group"] == "generated" for c in report["clips"])
    crash = report["totals"]["generated/crash/dashcam/rear"]
    assert crash["crashes"] == 1 and crash["recall"] in (0.0, 1.0)
    normal = report["totals"]["generated/normal/dashcam"]
    assert normal["hours"] == pytest.approx(0.01, abs=1e-3)
    drive = next(c for c in report["clips"] if c["kind"] == "normal" and not c["silent"])
    assert normal["false_triggers_per_hour"] == pytest.approx(len(drive["peaks"]) / 0.01, rel=1e-3)
    assert report["totals"]["generated/cut/dashcam"]["cut_clips_triggered"] in (0, 1)
    assert report["totals"]["generated/normal/dashcam/silent/gsensor"]["clips"] == 1
    assert report["totals"]["generated/crash/dashcam/side/silent/video-only"]["crashes"] == 1  # the first
    assert report["totals"]["generated/ALL"]["clips"] == 5  # the silent replays are not counted twice
    assert report["totals"]["generated/ALL/silent"]["clips"] == 4
    assert report["totals"]["generated/ALL/cabin-sound"]["clips"] == 3
    assert report["totals"]["generated/crash/dashcam/rear/cabin-sound/video-only"]["crashes"] == 1
    for line in ("generated/ALL", "clip", "segment"):
        assert line in text


def _write_wav(path: Path, samples: np.ndarray, rate: int = 16_000) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())


def test_real_sound_files_are_scored_by_the_audio_miner_over_cabin_noise(tmp_path: Path) -> None:
    rate = 16_000
    rng = np.random.default_rng(3)
    bang = np.zeros(3 * rate, np.float32)
    burst = rng.normal(0, 0.5, int(0.4 * rate)) * np.exp(-np.arange(int(0.4 * rate)) / rate / 0.1)
    bang[rate : rate + len(burst)] = burst
    _write_wav(tmp_path / "bang.wav", bang)
    _write_wav(tmp_path / "silence.wav", np.zeros(3 * rate, np.float32))
    header = "file\tkind\tview\timpact_s\twhat_it_shows\n"
    rows = "bang.wav\taudio\t-\t\ta bang\nsilence.wav\taudio\t-\t\tnothing\nx.mp4\tnormal\tdashcam\t\t-\n"
    (tmp_path / "labels.tsv").write_text(header + rows)
    results = {r.name: r for r in sound_results(tmp_path)}
    assert set(results) == {"bang", "silence"}  # only the sound files
    assert results["bang"].max_score > 0.5 and results["bang"].what == "a bang"
    assert results["silence"].max_score < 0.3  # the cabin noise alone, no onset made by the mixing
    assert results["bang"].duration_s == 3.0
