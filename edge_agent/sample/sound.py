"""The sound track of a sample drive: engine and road hum throughout, plus the plan's events.

An impact is a broadband noise burst, a low thump and inharmonic metallic ringing with glass-like
ticks, all decaying; a road bump is a soft low thump only; a far horn is a quiet tonal chord. These are
the acoustic shapes the audio miner has to tell apart (broadband onset vs low-only or tonal).
"""

from __future__ import annotations

import numpy as np

from edge_agent.sample.plan import DrivePlan

SAMPLE_RATE = 48_000


def _shaped_noise(rng: np.random.Generator, n: int, rate: int, lo_hz: float, hi_hz: float) -> np.ndarray:
    """Unit-RMS noise band-limited to [lo_hz, hi_hz] with a gentle 1/f tilt (road and tyre roar)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / rate)
    gain = ((freqs >= lo_hz) & (freqs <= hi_hz)) / np.sqrt(np.maximum(freqs, lo_hz) / lo_hz)
    out = np.fft.irfft(spec * gain, n)
    return out / (out.std() + 1e-12)


def _decay(t: np.ndarray, t0: float, tau: float, attack_s: float = 0.002) -> np.ndarray:
    dt = t - t0
    env = np.exp(-np.clip(dt, 0, None) / tau) * np.clip(dt / attack_s, 0, 1)
    return np.where(dt >= 0, env, 0.0)


def _impact(rng: np.random.Generator, t: np.ndarray, t0: float, rate: int) -> np.ndarray:
    n = len(t)
    burst = rng.standard_normal(n) * _decay(t, t0, 0.18) * 0.55
    sweep = 2 * np.pi * np.cumsum(np.where(t >= t0, 70.0 - 30.0 * np.clip(t - t0, 0, 0.3) / 0.3, 0.0)) / rate
    thump = np.sin(sweep) * _decay(t, t0, 0.12, 0.004) * 0.7
    ring = np.zeros(n)
    for _ in range(6):  # bent metal: inharmonic partials, each with its own decay
        f = rng.uniform(700.0, 4500.0)
        ring += (
            np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
            * _decay(t, t0, rng.uniform(0.3, 0.9))
            * 0.07
        )
    ticks = np.zeros(n)
    for tt in t0 + rng.uniform(0.05, 0.9, 25):  # glass: short high-frequency clicks after the hit
        i = int(tt * rate)
        if i + 200 < n:
            ticks[i : i + 200] += rng.standard_normal(200) * np.exp(-np.arange(200) / 40.0) * 0.12
    ticks -= np.convolve(ticks, np.ones(8) / 8, mode="same")  # keep only the high part
    return burst + thump + ring + ticks


def _thump(t: np.ndarray, t0: float, amplitude: float) -> np.ndarray:
    """A tyre going over a bump: a short low-frequency knock, nothing above a few hundred Hz."""
    return (
        amplitude
        * (np.sin(2 * np.pi * 55.0 * t) + 0.5 * np.sin(2 * np.pi * 90.0 * t))
        * _decay(t, t0, 0.07, 0.01)
    )


def _horn(t: np.ndarray, t0: float) -> np.ndarray:
    gate = np.clip((t - t0) / 0.02, 0, 1) * np.clip((t0 + 0.5 - t) / 0.02, 0, 1)
    tone = sum(np.sin(2 * np.pi * f * k * t) / k for f in (420.0, 520.0) for k in (1, 2, 3))
    return 0.03 * gate * tone


def synthesize(plan: DrivePlan, seed: int, rate: int = SAMPLE_RATE) -> np.ndarray:
    """Mono float32 peaking below 0.8 (headroom for the AAC encoder) covering the plan's duration."""
    rng = np.random.default_rng(seed + 104729)
    n = int(round(plan.duration_s * rate))
    t = np.arange(n) / rate
    speed = plan.speed_at(t)
    running = np.ones(n)
    if plan.impact_at_s is not None:  # the engine stalls after the impact
        running = np.where(t < plan.impact_at_s, 1.0, 0.3 + 0.7 * np.exp(-(t - plan.impact_at_s) / 0.4))
    f0 = 28.0 + 1.3 * speed  # firing frequency follows the road speed in a fixed gear
    phase = 2 * np.pi * np.cumsum(f0) / rate
    engine = sum(np.sin(k * phase + k) / k**1.2 for k in range(1, 7))
    engine *= 0.05 * running * (1 + 0.1 * np.sin(2 * np.pi * 0.7 * t))
    road = _shaped_noise(rng, n, rate, 60.0, 4000.0) * 0.04 * (0.3 + speed / 25.0)
    out = engine + road + _shaped_noise(rng, n, rate, 1500.0, 9000.0) * 0.004
    for bump in plan.bumps:
        out += _thump(t, bump.t, 0.1 + 4.0 * bump.amplitude)
    if plan.horn_at_s is not None:
        out += _horn(t, plan.horn_at_s)
    if plan.impact_at_s is not None:
        out += _impact(rng, t, plan.impact_at_s, rate)
    return (0.8 * np.tanh(out)).astype(np.float32)  # soft limit, as a recorder's AGC would
