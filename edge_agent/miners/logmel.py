"""Streaming log-mel energies: 20 ms hops of mono audio in, one row of band energies (dB) out."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from edge_agent.source.base import AudioBlock


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


class LogMel:
    """Cuts the stream into overlapping windows and returns their (time, dB per band) rows.

    Frames are computed in one batched FFT per block, so the cost per second of audio is a few small
    matrix products whatever the block size. Only the FFT bins some band covers are squared and summed
    (``fmax_hz`` 12 kHz at 48 kHz leaves half of them unused): the rows are the same, at half the cost.
    """

    def __init__(self, hop_s: float, window_s: float, bands: int, fmin_hz: float, fmax_hz: float) -> None:
        self.hop_s, self.window_s, self.bands = hop_s, window_s, bands
        self.fmin_hz, self.fmax_hz = fmin_hz, fmax_hz
        self.rate = 0
        self._buffer = np.zeros(0, np.float32)
        self._t0 = 0.0
        self._consumed = 0  # samples the buffer has moved past: an integer, so times do not depend on
        # how the stream was cut into blocks (summed float steps drift, and a row that lands exactly on
        # a tick boundary would fall on either side of it)

    def _start(self, block: AudioBlock) -> None:
        self.rate = block.rate
        self._n_fft = 1 << int(np.ceil(np.log2(self.window_s * block.rate)))
        self._hop = max(1, round(self.hop_s * block.rate))
        self._window = np.hanning(self._n_fft).astype(np.float32)
        filters = mel_filterbank(block.rate, self._n_fft, self.bands, self.fmin_hz, self.fmax_hz).T
        self._bins = int(np.flatnonzero(filters.any(axis=1))[-1]) + 1  # bins above the top band add 0
        self._filters = filters[: self._bins]
        self._norm = float(self._window.sum()) ** 2 / 4  # a full-scale sine reads about 0 dB
        self._t0 = block.t

    def push(self, block: AudioBlock) -> tuple[np.ndarray, np.ndarray]:
        """Times (window centres) and log-mel rows of every complete window the block finished."""
        if not self.rate:
            self._start(block)
        self._buffer = np.concatenate([self._buffer, block.samples.astype(np.float32)])
        count = 0 if len(self._buffer) < self._n_fft else 1 + (len(self._buffer) - self._n_fft) // self._hop
        if count == 0:
            return np.zeros(0), np.zeros((0, self.bands), np.float32)
        frames = sliding_window_view(self._buffer, self._n_fft)[:: self._hop][:count] * self._window
        power = np.abs(np.fft.rfft(frames, axis=1)[:, : self._bins]) ** 2 / self._norm
        rows = (10.0 * np.log10(power @ self._filters + 1e-12)).astype(np.float32)
        times = self._t0 + (self._consumed + self._n_fft / 2 + self._hop * np.arange(count)) / self.rate
        self._buffer = self._buffer[count * self._hop :]
        self._consumed += count * self._hop
        return times, rows
