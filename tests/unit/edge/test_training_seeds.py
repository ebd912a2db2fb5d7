"""``python -m edge_agent.training.seeds``: the motion model's real-clip scores, one column per ensemble."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch", reason="the train extra (torch) is not installed")

from edge_agent.evaluation.sets import Job
from edge_agent.sample.drive import SampleDriveSpec, write_sample_drive
from edge_agent.settings import AgentConfig
from edge_agent.training.seeds import agreed, alone_threshold, checked_clips, clip_score, main

HEADER = "file\tkind\tview\tego_involved\timpact_s\thas_audio_track\n"


def test_two_ticks_in_a_row_must_agree_and_a_gap_starts_afresh() -> None:
    times = np.array([0.0, 0.1, 0.2, 0.3, 0.9, 1.0])
    probs = np.array([0.9, 0.8, 0.1, 0.7, 0.9, 0.95])
    assert agreed(times, probs).tolist() == pytest.approx([0.0, 0.8, 0.1, 0.1, 0.0, 0.9])


def test_an_ego_crash_is_scored_at_its_impact_and_any_other_clip_anywhere() -> None:
    times = np.arange(0.0, 6.0, 0.1)
    scores = np.where(np.abs(times - 1.0) < 0.05, 0.9, 0.2) + np.where(np.abs(times - 4.0) < 0.05, 0.5, 0.0)
    crash = Job(name="c", kind="crash", view="dashcam", ego_involved="yes", impact_s=4.0)
    assert clip_score(crash, times, scores) == pytest.approx(0.7)  # the 0.9 at 1.0 s is not the crash
    normal = Job(name="n", kind="normal", view="dashcam")
    assert clip_score(normal, times, scores) == pytest.approx(0.9)
    assert clip_score(crash, times[:5], scores[:5]) is None  # the clip ended before its impact was judged


def test_the_clips_checked_are_the_dashcam_ones_training_does_not_learn_from(tmp_path: Path) -> None:
    (tmp_path / "labels.tsv").write_text(
        HEADER
        + "normal/n01.mp4\tnormal\tdashcam\t\t\tyes\n"  # the first normal dashcam clip: training learns from it
        + "normal/n02.mp4\tnormal\tdashcam\t\t\tyes\n"
        + "crash/c01.mp4\tcrash\tcctv\t\t2.0\tyes\n"
        + "crash/c09.mp4\tcrash\tdashcam\tno\t2.0\tno\n"
        + "crash/c23.mp4\tcrash\tdashcam\tyes\t3.3\tno\n"
        + "audio/a01.wav\taudio\t\t\t\tyes\n"
    )
    assert [job.name for job in checked_clips(tmp_path)] == ["c23", "c09", "n02"]


def test_alone_a_jolt_must_reach_the_enter_threshold_over_the_renormalised_motion_weight() -> None:
    config = AgentConfig()
    motion, proximity = config.miners["motion"].weight, config.miners["proximity"].weight
    assert alone_threshold(config) * motion / (motion + proximity) == pytest.approx(
        config.fusion.enter_threshold
    )


def test_prints_one_column_per_ensemble_and_a_row_per_checked_clip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real = tmp_path / "real"
    for name, impact in (("crash/c90.mp4", 5.0), ("normal/n90.mp4", None), ("normal/n91.mp4", None)):
        spec = SampleDriveSpec(seed=5, impact_at_s=impact, duration_s=7.0, width=320, height=180)
        write_sample_drive(real / name, spec)
    (real / "labels.tsv").write_text(
        HEADER
        + "crash/c90.mp4\tcrash\tdashcam\tyes\t5.0\tyes\n"
        + "normal/n90.mp4\tnormal\tdashcam\t\t\tyes\n"
        + "normal/n91.mp4\tnormal\tdashcam\t\t\tyes\n"
    )
    small = ["--train-drives", "3", "--test-drives", "3", "--epochs", "1", "--real", str(real)]
    assert main([*small, "--ensembles", "2"]) == 0
    table = [line for line in capsys.readouterr().out.splitlines() if line.startswith("|")]
    assert table[0] == "| clip | what | seeds 1-5 | seeds 6-10 |"
    assert [line.split(" | ")[0:2] for line in table[2:]] == [
        ["| held-out generated", "AUC"],
        ["| c90", "at impact"],
        ["| n91", "normal, max"],
    ]
    for line in table[2:]:
        cells = line.strip("| ").split(" | ")[2:]
        assert len(cells) == 2 and all(0.0 <= float(c.rstrip(" *")) <= 1.0 for c in cells)


def test_without_the_real_clips_it_says_what_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main(["--real", str(tmp_path)])
    assert "labels.tsv not found" in capsys.readouterr().err
