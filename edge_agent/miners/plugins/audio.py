"""Impact-like sound: a broadband jump in log-mel energy over the recent background (heuristic-1).

A crash is loud in almost every frequency band at once; engine hum, road roar and a bump's thud rise
in a few low bands only. So each 20 ms frame is compared band by band with the median of the last
seconds, and the score follows the median rise across bands: a sound has to be broadband to count.
Signal processing with numpy's FFT, not a learned model.
"""

from __future__ import annotations

from collections import deque
from typing import Annotated, ClassVar

import msgspec
import numpy as np

from edge_agent.miners.base import AUDIO, Miner, MinerConfig, ramp
from edge_agent.source.base import AudioBlock


class AudioConfig(MinerConfig, frozen=True, forbid_unknown_fields=True, kw_only=True):
    weight: Annotated[float, msgspec.Meta(ge=0)] = 0.35
    hop_s: Annotated[float, msgspec.Meta(gt=0, le=0.1)] = 0.02
    window_s: Annotated[float, msgspec.Meta(gt=0, le=0.2)] = 0.04
    bands: Annotated[int, msgspec.Meta(ge=4, le=128)] = 32
    fmin_hz: Annotated[float, msgspec.Meta(gt=0)] = 60.0
    fmax_hz: Annotated[float, msgspec.Meta(gt=0)] = 12000.0
    baseline_s: Annotated[float, msgspec.Meta(gt=0)] = 3.0  # background = median band energy over this
    warmup_s: Annotated[float, msgspec.Meta(ge=0)] = 1.0  # no score until this much background is known
    floor_db: float = -90.0  # band energy (dB re full scale) below which the background counts as silence
    rise_low_db: float = 6.0  # median rise across bands that scores 0
    rise_high_db: float = 20.0  # median rise that scores 1

    def __post_init__(self) -> None:
        if self.rise_high_db <= self.rise_low_db:
            raise ValueError("rise_high_db must be above rise_low_db")
        if self.fmax_hz <= self.fmin_hz:
            raise ValueError("fmax_hz must be above fmin_hz")


def mel_filterbank(rate: int, n_fft: int, bands: int, fmin: float, fmax: float) -> np.ndarray:
    """Triangular filters evenly spaced on the mel scale, shape (bands, n_fft // 2 + 1)."""
    fmax = min(fmax, rate / 2)

    def mel(f: np.ndarray) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + f / 700.0)

    edges = 700.0 * (10 ** (np.linspace(mel(np.array(fmin)), mel(np.array(fmax)), bands + 2) / 2595.0) - 1.0)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / rate)
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (freqs[None, :] - lo) / (mid - lo)
    falling = (hi - freqs[None, :]) / (hi - mid)
    return np.clip(np.minimum(rising, falling), 0.0, None)


class AudioMiner(Miner):
    """Broadband onset energy over a running per-band baseline (heuristic-1)."""

    kind: ClassVar[str] = "audio"
    version: ClassVar[str] = "heuristic-1"
    inputs: ClassVar[frozenset[str]] = frozenset({AUDIO})
    config_type: ClassVar[type[MinerConfig]] = AudioConfig

    def __init__(self, config: MinerConfig, rate_hz: float) -> None:
        super().__init__(config, rate_hz)
        assert isinstance(config, AudioConfig)
        self.cfg = config
        self._rate = 0
        self._buffer = np.zeros(0, np.float32)
        self._buffer_t = 0.0
        self._history: deque[np.ndarray] = deque()

    def _start(self, block: AudioBlock) -> None:
        self._rate = block.rate
        self._n_fft = 1 << int(np.ceil(np.log2(self.cfg.window_s * block.rate)))
        self._hop = max(1, int(self.cfg.hop_s * block.rate))
        self._window = np.hanning(self._n_fft).astype(np.float32)
        self._filters = mel_filterbank(
            block.rate, self._n_fft, self.cfg.bands, self.cfg.fmin_hz, self.cfg.fmax_hz
        )
        self._norm = float(self._window.sum()) ** 2 / 4  # a full-scale sine reads about 0 dB
        self._buffer_t = block.t
        self._max_history = max(1, int(self.cfg.baseline_s / self.cfg.hop_s))
        self._warmup = int(self.cfg.warmup_s / self.cfg.hop_s)

    def on_audio(self, block: AudioBlock) -> None:
        if not self._rate:
            self._start(block)
        self._buffer = np.concatenate([self._buffer, block.samples])
        while len(self._buffer) >= self._n_fft:
            frame = self._buffer[: self._n_fft]
            self._score(frame, self._buffer_t + self._n_fft / 2 / self._rate)
            self._buffer = self._buffer[self._hop :]
            self._buffer_t += self._hop / self._rate

    def _score(self, frame: np.ndarray, t: float) -> None:
        power = np.abs(np.fft.rfft(frame * self._window)) ** 2 / self._norm
        energy = 10.0 * np.log10(self._filters @ power + 1e-12)
        if len(self._history) >= self._warmup:
            background = np.maximum(np.median(np.asarray(self._history), axis=0), self.cfg.floor_db)
            rise = float(np.median(energy - background))
            self.track.put(t, ramp(rise, self.cfg.rise_low_db, self.cfg.rise_high_db))
        self._history.append(energy)
        if len(self._history) > self._max_history:
            self._history.popleft()
