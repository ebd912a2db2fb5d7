"""``python -m edge_agent.training --models``: retrain some miners, keep the others' files and figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="the train extra (torch) is not installed")

from edge_agent.training.__main__ import main  # after the skip: it imports torch


def _small(tmp_path: Path) -> list[str]:
    out = tmp_path / "models"
    return [
        "--train-drives",
        "3",
        "--test-drives",
        "3",
        "--epochs",
        "2",
        "--real",
        str(tmp_path / "none"),
        "--out",
        str(out),
    ]


def test_retraining_one_model_keeps_the_other_models_files_and_figures(tmp_path: Path) -> None:
    args = _small(tmp_path)
    out = tmp_path / "models"
    assert main(args) == 0
    files = sorted(out.glob("*.onnx"))
    assert len(files) == 6
    written = {p.name: p.stat().st_mtime_ns for p in files}
    first = json.loads((out / "metrics.json").read_text())
    assert first["_run"]["models"] == ["motion", "audio", "proximity"]

    assert main([*args, "--models", "proximity"]) == 0
    rewritten = {p.name for p in files if p.stat().st_mtime_ns != written[p.name]}
    assert rewritten == {"proximity-mlp-int8.onnx", "proximity-mlp-fp32.onnx"}
    second = json.loads((out / "metrics.json").read_text())
    assert second["motion"] == first["motion"] and second["audio"] == first["audio"]
    assert second["proximity"]["trained"]["utc"] >= first["proximity"]["trained"]["utc"]
    assert second["_run"]["models"] == ["proximity"]
    card = (out / "MODEL_CARD.md").read_text()
    assert "Last run: proximity retrained" in card and "| motion | motion-mlp-int8.onnx" in card


def test_a_partial_retrain_needs_the_kept_models_figures_from_the_same_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _small(tmp_path)
    with pytest.raises(SystemExit):
        main([*args, "--models", "proximity"])  # nothing to keep yet
    assert "metrics.json not found" in capsys.readouterr().err
    out = tmp_path / "models"
    out.mkdir()
    run = {"train_drives": 300, "test_drives": 3, "torch": "2.13.0+cpu", "cpu_capability": "AVX512"}
    (out / "metrics.json").write_text(json.dumps({"motion": {}, "audio": {}, "_run": run}))
    with pytest.raises(SystemExit):
        main([*args, "--models", "proximity"])
    assert "train_drives" in capsys.readouterr().err  # 300 drives then, 3 now: the card could not say
    with pytest.raises(SystemExit):
        main([*args, "--models", "proximity,lidar"])
    assert "subset of motion, audio, proximity" in capsys.readouterr().err
