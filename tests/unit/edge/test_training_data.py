"""Which real clips training learns from, and that the evaluation reports exactly those apart."""

from __future__ import annotations

from pathlib import Path

from edge_agent.evaluation.__main__ import segment
from edge_agent.evaluation.metrics import Clip
from edge_agent.evaluation.sets import real_jobs
from edge_agent.training.data import real_normal_training_clips

HEADER = "file\tkind\tview\tego_involved\timpact_s\thas_audio_track\n"
ROWS = [
    ("normal/n03_b.mp4", "normal", "dashcam", "yes"),
    ("normal/n01_a.mp4", "normal", "dashcam", "no"),
    ("normal/n02_cctv.mp4", "normal", "cctv", "yes"),
    ("crash/c01_x.mp4", "crash", "dashcam", "yes"),
    ("normal/n05_d.mp4", "normal", "dashcam", "yes"),
    ("normal/n04_c.mp4", "normal", "dashcam", "no"),
]


def _labels(folder: Path) -> Path:
    lines = [HEADER] + [f"{f}\t{k}\t{v}\t\t{'2.0' if k == 'crash' else ''}\t{a}\n" for f, k, v, a in ROWS]
    (folder / "labels.tsv").write_text("".join(lines))
    return folder


def test_training_takes_every_other_normal_dashcam_clip_in_name_order(tmp_path: Path) -> None:
    clips = real_normal_training_clips(_labels(tmp_path))
    assert clips == [tmp_path / "normal/n01_a.mp4", tmp_path / "normal/n04_c.mp4"]


def test_the_evaluation_marks_the_clips_training_learned_from(tmp_path: Path) -> None:
    jobs = {job.name: job for job in real_jobs(_labels(tmp_path))}
    assert {name for name, job in jobs.items() if job.trained} == {"n01_a", "n04_c"}
    assert not jobs["n02_cctv"].trained and not jobs["c01_x"].trained
    # replayed without sound: the normal clips that have a sound track to take away
    assert {name for name, job in jobs.items() if job.silent_replay} == {"n03_b", "n02_cctv", "n05_d"}


def test_trained_and_held_out_normal_clips_are_separate_segments() -> None:
    def clip(trained: bool) -> Clip:
        return Clip(name="n", group="real", kind="normal", view="dashcam", duration_s=5.0, trained=trained)

    assert segment(clip(True)) == "real/normal/dashcam/trained"
    assert segment(clip(False)) == "real/normal/dashcam/held-out"
