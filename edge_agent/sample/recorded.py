"""Real recordings laid over a generated drive's cabin sound, as a dashcam microphone would hear them.

The audio miner compares each band with its recent background, so a recording played on its own (a
file that starts on the sound, or on digital silence) reads nothing like the road: training and the
evaluation both put the real sound files over the engine and road noise of a generated normal drive.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from edge_agent.sample.scenarios import Scenario, build_scenario
from edge_agent.sample.sound import SAMPLE_RATE


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Mono float samples (full scale 1.0) and their rate, from a PCM WAV file."""
    with wave.open(str(path)) as w:
        raw = np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(np.float32) / 32768.0
        return raw.reshape(-1, w.getnchannels()).mean(axis=1), w.getframerate()


def over_cabin(
    sound: np.ndarray, rate: int, seed: int, at_s: float, gain: float, duration_s: float
) -> np.ndarray:
    """``sound`` (resampled to the drive's rate, times ``gain``) starting ``at_s`` into ``duration_s`` of
    a normal drive's sound track (seed ``seed``), cut at its end, soft-limited like the drive's own."""
    resampled = np.interp(
        np.arange(0, len(sound) * SAMPLE_RATE / rate) * rate / SAMPLE_RATE, np.arange(len(sound)), sound
    )
    mix = build_scenario(Scenario(kind="normal", seed=seed, duration_s=duration_s)).audio.astype(np.float64)
    i = int(at_s * SAMPLE_RATE)
    seg = resampled[: max(0, len(mix) - i)] * gain
    mix[i : i + len(seg)] += seg
    return (0.8 * np.tanh(mix / 0.8)).astype(np.float32)
