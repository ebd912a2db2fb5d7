"""The G-sensor sidecar of a sample drive: what a dashcam's accelerometer would log on the same plan.

Device axes x forward, y left, z up, in m/s^2 at 100 Hz. Longitudinal acceleration is the derivative of
the plan's (smoothed) ego speed; the impact's speed drop becomes a 0.12 s half-sine crash pulse of the
same Delta-v (several g, as crash recorders see), with a lateral share on the side of the impact; road
vibration grows with speed, and bumps and the impact ring the vertical axis around 1 g.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from edge_agent.sample.plan import BUMP_HZ, BUMP_TAU_S, JOLT_HZ, JOLT_TAU_S, DrivePlan
from edge_agent.sample.plan import _decaying_ring as decaying_ring

RATE_HZ = 100
GRAVITY = 9.81
_PULSE_S = 0.12  # crash pulse length for a car-to-car impact at urban speed
_DRIVE_SMOOTH_S = 0.5
_BUMP_GAIN = 150.0  # m/s^2 of vertical acceleration per unit of bump camera shift (0.02 -> 0.3 g)
_NOISE = 0.05  # sensor noise, m/s^2 RMS


def gsensor_readings(plan: DrivePlan, seed: int, rate_hz: int = RATE_HZ) -> np.ndarray:
    """N x 4 float32 [t, ax, ay, az] for ``plan``; the same seed gives the same readings."""
    rng = np.random.default_rng(seed + 104_729)
    n = max(2, int(plan.duration_s * rate_hz))
    t = np.arange(n) / rate_hz
    speed = plan.speed_at(t)
    delta_v = 0.0
    if plan.impact_at_s is not None:  # take the impact's speed step out; it comes back as a crash pulse
        before, after = plan.speed_at(np.array([plan.impact_at_s - 1.0 / plan.fps, plan.impact_at_s]))
        delta_v = max(0.0, float(before - after))
        speed = speed + delta_v * (t >= plan.impact_at_s)
    # Driving acceleration is smooth: the plan's per-frame speed wander is smoothed over half a second.
    ax = np.gradient(_smoothed(speed, int(_DRIVE_SMOOTH_S * rate_hz)), 1.0 / rate_hz)
    vibration = 0.25 * np.clip(speed / 20.0, 0.2, 1.5)
    ax += vibration * 0.4 * _road_noise(rng, n)
    ay = vibration * 0.5 * _road_noise(rng, n)
    az = GRAVITY + vibration * _road_noise(rng, n)
    for bump in plan.bumps:
        az += bump.amplitude * _BUMP_GAIN * decaying_ring(t, bump.t, BUMP_TAU_S, BUMP_HZ)
    if plan.impact_at_s is not None:
        # Half-sine deceleration whose area is the speed lost: peak = pi * delta_v / (2 * pulse).
        pulse_t = np.clip((t - plan.impact_at_s) / _PULSE_S, 0.0, 1.0)
        pulse = np.where(pulse_t > 0, np.sin(np.pi * pulse_t), 0.0) * np.pi * delta_v / (2 * _PULSE_S)
        ax -= pulse
        hit = (t >= plan.impact_at_s) & (t < plan.impact_at_s + _PULSE_S)
        side = np.sign(np.mean(np.interp(t[hit], np.arange(plan.frames) / plan.fps, plan.cam_dx))) or 1.0
        ring = decaying_ring(t, plan.impact_at_s, JOLT_TAU_S, JOLT_HZ)
        ay += side * 0.3 * float(pulse.max()) * ring
        az += 0.3 * float(pulse.max()) * ring
    readings = np.stack([t, ax, ay, az], axis=1) + np.c_[np.zeros(n), rng.normal(0, _NOISE, (n, 3))]
    return readings.astype(np.float32)


def _smoothed(values: np.ndarray, width: int) -> np.ndarray:
    """Centred Hann smoothing with the ends held, so the first and last readings are not pulled to 0."""
    window = np.hanning(width + 2)[1:-1]
    padded = np.pad(values, width, mode="edge")
    return np.convolve(padded, window / window.sum(), mode="same")[width:-width]


def _road_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """Unit-RMS vibration, mildly low-passed (suspension passes mostly 5-25 Hz)."""
    noise = np.convolve(rng.standard_normal(n + 2), [0.25, 0.5, 0.25], mode="valid")
    return noise / (noise.std() + 1e-9)


def write_gsensor_csv(path: Path, readings: np.ndarray) -> Path:
    """The sidecar CSV (``t,ax,ay,az``), written atomically."""
    tmp = path.with_name(f".{path.name}.part")
    np.savetxt(tmp, readings, fmt="%.4f", delimiter=",", header="t,ax,ay,az", comments="")
    os.replace(tmp, path)
    return path
