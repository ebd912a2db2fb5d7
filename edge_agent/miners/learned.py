"""What the three learned miners share: a window of per-tick features scored by a small ONNX model.

Signal processing (ego motion, log-mel, looming) turns media into one feature row per analysis tick
(the timeline rate, 10 Hz); the model sees the last ``length`` rows and returns a probability, which
the miner writes at the time its label refers to. ``tap`` lets training and evaluation record exactly
the inputs the deployed model sees, so features cannot drift between training and the vehicle.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np

from edge_agent.inference import ModelRunner
from edge_agent.models import model_path

Tap = Callable[[float, np.ndarray], None]  # (score time, model input without the batch axis)


@cache
def shared_runner(path: Path) -> ModelRunner:
    """One session per model file per process, however many sessions mine at once."""
    return ModelRunner(path)


class FeatureWindow:
    """The last ``length`` feature rows, oldest first; empty rows are zeros (nothing seen yet)."""

    def __init__(self, length: int, width: int) -> None:
        self.rows = np.zeros((length, width), np.float32)
        self.filled = 0

    def push(self, row: np.ndarray) -> None:
        self.rows[:-1] = self.rows[1:]
        self.rows[-1] = row
        self.filled = min(self.filled + 1, len(self.rows))

    def reset(self) -> None:
        self.rows[:] = 0.0
        self.filled = 0

    @property
    def full(self) -> bool:
        return self.filled == len(self.rows)


class Agreement:
    """A score that needs two model outputs in a row: the smaller of this output and the previous one.

    A collision stays in a model's window for several ticks and the models were taught to see it in each
    of them, so a real event passes; a lone spike does not. Lone spikes were tracking slips on compressed
    frames (motion) and sharp onsets of harmless sounds whose score swung with their 20 ms phase against
    the tick grid (audio: an indicator tone read 0.01-0.72 by phase alone).
    """

    def __init__(self) -> None:
        self.last = 0.0

    def __call__(self, output: float) -> float:
        score, self.last = min(output, self.last), output
        return score

    def reset(self) -> None:
        self.last = 0.0


class WindowModel:
    """Scores a window with the named model; with ``tap`` set it also reports every input it scores."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.tap: Tap | None = None
        self.scoring = True  # training taps features before any model exists
        self._runner: ModelRunner | None = None

    def score(self, t: float, x: np.ndarray) -> np.ndarray | None:
        """The model's output row (probabilities) for one input, or None while only tapping."""
        if self.tap is not None:
            self.tap(t, x)
        if not self.scoring:
            return None
        if self._runner is None:
            self._runner = shared_runner(model_path(self.name))
        return self._runner.run(x[None])[0].reshape(-1)
