"""The audio miner alone over the real sound files of the development set (``kind = audio`` in labels.tsv).

The video clips rarely carry a usable sound track, so these recordings (crashes, a skid, horns) are the
only check of the audio model on sounds nobody here generated. Each file is laid over the cabin sound
of a generated normal drive (``sample.recorded.over_cabin``: engine and road noise, a seed range no
training drive uses), starting 3.5 s in so the miner knows the background, as training does with
three of them (a01-a03: not held out; a04 and a06 are). The table gives the highest score and the
highest score held three ticks in a row (0.3 s) from the recording's start on.
"""

from __future__ import annotations

import csv
from pathlib import Path

import msgspec
import numpy as np

from edge_agent.miners.plugins.audio import AudioConfig, AudioMiner
from edge_agent.sample.recorded import over_cabin, read_wav
from edge_agent.sample.sound import SAMPLE_RATE
from edge_agent.source.base import AudioBlock

AT_S = 3.5
TAIL_S = 1.5
SEED0 = 300_000
_BLOCK = 4800
_RATE_HZ = 10.0


class SoundResult(msgspec.Struct, frozen=True):
    name: str
    what: str  # the label's description
    duration_s: float
    max_score: float
    held_score: float  # highest score reached in three ticks in a row


def score_sound(path: Path, seed: int, what: str = "") -> SoundResult:
    sound, rate = read_wav(path)
    length_s = len(sound) / rate
    mix = over_cabin(sound, rate, seed, AT_S, 1.0, AT_S + length_s + TAIL_S)
    miner = AudioMiner(AudioConfig(), _RATE_HZ)
    for start in range(0, len(mix), _BLOCK):
        block = mix[start : start + _BLOCK]
        miner.on_audio(AudioBlock(t=start / SAMPLE_RATE, samples=block, rate=SAMPLE_RATE))
    scores = np.asarray(miner.track.scores[int(AT_S * _RATE_HZ) :] or [0.0])
    held = max((float(scores[i : i + 3].min()) for i in range(len(scores) - 2)), default=0.0)
    return SoundResult(
        name=path.stem,
        what=what,
        duration_s=round(length_s, 2),
        max_score=round(float(scores.max()), 3),
        held_score=round(held, 3),
    )


def sound_results(folder: Path) -> list[SoundResult]:
    """Every ``kind = audio`` row of ``folder/labels.tsv``, scored (each over its own cabin drive)."""
    with (folder / "labels.tsv").open(newline="") as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t") if r["kind"] == "audio"]
    return [
        score_sound(folder / r["file"], SEED0 + i, r.get("what_it_shows", "")) for i, r in enumerate(rows)
    ]
