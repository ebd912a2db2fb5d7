"""Crash sounds: a small INT8 CNN over log-mel energies relative to the recent background.

Log-mel rows (32 bands, 20 ms hops) are taken relative to each band's median over the last seconds,
so the recorder's gain and the cabin's steady hum drop out. Every tick (10 Hz) the model
(``audio-cnn-int8``) sees the last second and gives four probabilities: impact, skid, glass, horn.
The miner's score is the collision evidence, max(impact, glass), in two ticks in a row (``Agreement``);
skid and horn are trained as their own classes so that a squeal or a honk is recognised as what it is
instead of passing as a bang.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

import msgspec
import numpy as np

from edge_agent.miners.base import AUDIO, Miner, MinerConfig
from edge_agent.miners.learned import Agreement, WindowModel
from edge_agent.miners.logmel import LogMel
from edge_agent.source.base import AudioBlock

MODEL = "audio-cnn-int8"
CLASSES = ("impact", "skid", "glass", "horn")
HOP_S = 0.02
BANDS = 32
FRAMES = 50  # one second of hops per model input
BASELINE_FRAMES = 150  # background: per-band median over three seconds
WARMUP_FRAMES = 75  # no score until 1.5 s of background is known (a stream may start in silence)
SCORE_LAG_S = 0.3  # the score is written this long before the newest audio the model saw
_DB_SCALE = 10.0


class AudioConfig(MinerConfig, frozen=True, forbid_unknown_fields=True, kw_only=True):
    weight: Annotated[float, msgspec.Meta(ge=0)] = 0.35
    floor_db: float = -90.0  # band energy (dB re full scale) below which the background counts as silence


def audio_input(rows: np.ndarray, history: np.ndarray, floor_db: float) -> np.ndarray:
    """The model input (1 x FRAMES x BANDS): the last second, in tens of dB over the background."""
    background = np.maximum(np.median(history, axis=0), floor_db)
    return np.clip((rows - background) / _DB_SCALE, -3.0, 6.0)[None].astype(np.float32)


class AudioMiner(Miner):
    """Impact / skid / glass / horn from log-mel by a learned INT8 CNN."""

    kind: ClassVar[str] = "audio"
    version: ClassVar[str] = "audio-cnn-int8-4"
    inputs: ClassVar[frozenset[str]] = frozenset({AUDIO})
    config_type: ClassVar[type[MinerConfig]] = AudioConfig

    def __init__(self, config: MinerConfig, rate_hz: float) -> None:
        super().__init__(config, rate_hz)
        self.model = WindowModel(MODEL)
        self.logmel = LogMel(HOP_S, 0.025, BANDS, 60.0, 12000.0)
        self._history = np.zeros((0, BANDS), np.float32)  # the last BASELINE_FRAMES rows, oldest first
        self._tick = 1.0 / rate_hz
        self._next_t: float | None = None
        self.last_probabilities = np.zeros(len(CLASSES), np.float32)
        self._agreement = Agreement()

    def on_audio(self, block: AudioBlock) -> None:
        assert isinstance(self.config, AudioConfig)
        times, rows = self.logmel.push(block)
        # The block's rows join the kept ones in one array; each tick reads the view of what the
        # background held at its row (the last BASELINE_FRAMES up to it), with no per-row copies.
        history = np.concatenate([self._history, rows]) if len(rows) else self._history
        kept_before = len(self._history)
        for j, t in enumerate(times.tolist()):
            end = kept_before + j + 1  # rows up to and including this one
            if self._next_t is None:
                self._next_t = t + self._tick
            if t < self._next_t or end < WARMUP_FRAMES:
                continue
            self._next_t += self._tick * max(1, int((t - self._next_t) / self._tick) + 1)
            background = history[max(0, end - BASELINE_FRAMES) : end]
            x = audio_input(background[-FRAMES:], background, self.config.floor_db)
            t_score = t - SCORE_LAG_S
            probabilities = self.model.score(t_score, x)
            if probabilities is not None:
                self.last_probabilities = probabilities
                self.track.put(t_score, self._agreement(float(max(probabilities[0], probabilities[2]))))
        self._history = history[-BASELINE_FRAMES:]
