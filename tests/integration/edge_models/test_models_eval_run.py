"""``python -m edge_agent.evaluation`` end to end on a tiny generated set (the real part skipped here)."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from edge_agent.evaluation.__main__ import main


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
    assert len(names) == 5  # rear-end, side, pedestrian, one normal drive, one cut clip
    assert all(c["group"] == "generated" for c in report["clips"])
    crash = report["totals"]["generated/crash/dashcam/rear"]
    assert crash["crashes"] == 1 and crash["recall"] in (0.0, 1.0)
    normal = report["totals"]["generated/normal/dashcam"]
    assert normal["hours"] == pytest.approx(0.01, abs=1e-3)
    assert normal["false_triggers_per_hour"] == pytest.approx(
        len(next(c for c in report["clips"] if c["kind"] == "normal")["peaks"]) / 0.01, rel=1e-3
    )
    assert report["totals"]["generated/cut/dashcam"]["cut_clips_triggered"] in (0, 1)
    for line in ("generated/ALL", "clip", "segment"):
        assert line in text
