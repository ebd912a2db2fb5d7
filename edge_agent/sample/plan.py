"""The seeded story of a sample drive: ego speed, lead-car gap, bumps, passing cars, horn, impact.

Everything the renderer and the sound synthesiser draw comes from this one plan, so picture and sound
agree (the crash sound lands on the frame of the jolt) and the same seed gives the same drive.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HOOD_M = 2.0  # camera to the ego's front bumper: a gap of this many metres is contact
JOLT_TAU_S = 0.12  # decay of the camera jolt after the impact
JOLT_HZ = 3.0  # the camera mount rings at this frequency after the impact
BUMP_TAU_S = 0.1
BUMP_HZ = 5.0


@dataclass(frozen=True, slots=True)
class PassingCar:
    """A car in an adjacent lane: ``z0`` metres ahead at ``t0``, moving ``rel_speed`` m/s relative to ego."""

    t0: float
    lane_x: float
    z0: float
    rel_speed: float
    color: tuple[int, int, int]
    truck: bool


@dataclass(frozen=True, slots=True)
class Bump:
    t: float
    amplitude: float  # peak vertical camera shift, fraction of frame height


@dataclass(frozen=True, slots=True)
class DrivePlan:
    """Per-frame arrays at ``fps`` plus the discrete events; times in seconds from the start."""

    fps: int
    duration_s: float
    impact_at_s: float | None
    ego_speed: np.ndarray  # m/s per frame
    ego_pos: np.ndarray  # metres travelled per frame
    lead_gap: np.ndarray  # camera to lead car's rear, metres, per frame
    lead_braking: np.ndarray  # bool per frame
    lead_lateral: np.ndarray  # lead car's lateral offset in its lane, metres
    cam_dx: np.ndarray  # camera shift, fraction of width
    cam_dy: np.ndarray  # camera shift, fraction of height
    cam_roll: np.ndarray  # radians
    bumps: tuple[Bump, ...]
    passing: tuple[PassingCar, ...]
    horn_at_s: float | None
    lead_color: tuple[int, int, int]

    @property
    def frames(self) -> int:
        return len(self.ego_speed)

    def speed_at(self, t: np.ndarray) -> np.ndarray:
        """Ego speed at arbitrary times (the sound needs it at the audio rate)."""
        return np.interp(t, np.arange(self.frames) / self.fps, self.ego_speed)


_CAR_COLORS = ((40, 40, 160), (180, 180, 185), (30, 30, 30), (150, 90, 30), (235, 235, 235), (40, 110, 40))


def _decaying_ring(t: np.ndarray, t0: float, tau: float, hz: float) -> np.ndarray:
    """0 before t0, then an exponentially decaying cosine starting at 1."""
    dt = t - t0
    out = np.exp(-np.clip(dt, 0, None) / tau) * np.cos(2 * np.pi * hz * np.clip(dt, 0, None))
    return np.where(dt >= 0, out, 0.0)


def _smooth_noise(rng: np.random.Generator, n: int, fps: int, corner_hz: float) -> np.ndarray:
    """Unit-RMS noise low-passed at ``corner_hz`` (camera vibration, speed wander)."""
    white = rng.standard_normal(n + 64)
    k = max(1, int(fps / corner_hz))
    smooth = np.convolve(white, np.ones(k) / k, mode="same")[32 : 32 + n]
    return smooth / (smooth.std() + 1e-9)


def _pick_times(
    rng: np.random.Generator, count: int, lo: float, hi: float, avoid: list[float], gap: float
) -> list[float]:
    """Up to ``count`` random times in [lo, hi] at least ``gap`` apart from each other and from ``avoid``."""
    picked: list[float] = []
    for _ in range(count * 20):
        if len(picked) == count or hi <= lo:
            break
        t = float(rng.uniform(lo, hi))
        if all(abs(t - a) >= gap for a in avoid + picked):
            picked.append(t)
    return sorted(picked)


def plan_drive(seed: int, duration_s: float, fps: int, impact_at_s: float | None) -> DrivePlan:
    rng = np.random.default_rng(seed)
    n = max(1, int(round(duration_s * fps)))
    t = np.arange(n) / fps
    v0 = float(rng.uniform(18.0, 26.0))
    speed = v0 * (1 + 0.03 * _smooth_noise(rng, n, fps, 0.2))
    gap0 = float(rng.uniform(18.0, 26.0))
    gap = gap0 + 2.5 * _smooth_noise(rng, n, fps, 0.15)
    braking = np.zeros(n, dtype=bool)

    if impact_at_s is None:
        # Normal driving: the lead car brakes gently now and then and the ego follows; the gap
        # shrinks by a few metres at a walking-pace closing speed and recovers.
        for tb in _pick_times(rng, 2, 1.0, duration_s - 6.0, [], 6.0):
            dip = np.clip((t - tb) / 5.0, 0, 1)
            gap -= float(rng.uniform(4.0, 6.0)) * np.sin(np.pi * dip) ** 2
            braking |= (t >= tb) & (t < tb + 2.5)
    else:
        # Lead brakes hard ``brake_s`` before the impact; the gap closes quadratically (constant relative
        # deceleration) to contact exactly at impact_at_s; the ego brakes too late. After the impact
        # the cars stay locked together while the ego comes to a stop.
        brake_s = float(rng.uniform(2.5, 3.5))
        tb = impact_at_s - brake_s
        gap_b = float(np.interp(tb, t, gap)) if tb > 0 else gap0
        a_rel = 2 * (gap_b - HOOD_M) / brake_s**2
        closing = (t >= tb) & (t < impact_at_s)
        gap = np.where(closing, gap_b - 0.5 * a_rel * (t - tb) ** 2, gap)
        after = t >= impact_at_s
        gap = np.where(after, HOOD_M + 0.4 * np.exp(-(t - impact_at_s) / 0.3) * (t - impact_at_s) / 0.3, gap)
        braking |= t >= tb
        late = np.clip(t - (impact_at_s - 0.7), 0, None)
        speed = np.where(t < impact_at_s, speed - 7.0 * np.clip(late, 0, 0.7), speed)
        v_ego = float(np.interp(impact_at_s, t, speed))
        v_after = 0.5 * (v_ego + max(v_ego - a_rel * brake_s, 0.0))  # the two cars move on together
        stop = np.clip(v_after - 6.0 * (t - impact_at_s), 0, None)
        speed = np.where(after, stop, speed)
    gap = np.maximum(gap, HOOD_M)
    speed = np.maximum(speed, 0.0)
    pos = np.concatenate([[0.0], np.cumsum(speed[:-1]) / fps])

    # Camera: engine/road vibration all the time, decaying rings at bumps, a big jolt at impact.
    cam_dx = 0.0008 * _smooth_noise(rng, n, fps, 3.0)
    cam_dy = 0.0012 * _smooth_noise(rng, n, fps, 4.0)
    cam_roll = 0.001 * _smooth_noise(rng, n, fps, 2.0)
    avoid = [] if impact_at_s is None else [impact_at_s]
    bump_count = 3 if impact_at_s is None else 1
    bumps = tuple(
        Bump(bt, float(rng.uniform(0.015, 0.03)))
        for bt in _pick_times(rng, bump_count, 1.0, duration_s - 1.0, avoid, 3.0)
    )
    for b in bumps:
        cam_dy += b.amplitude * _decaying_ring(t, b.t, BUMP_TAU_S, BUMP_HZ)
    if impact_at_s is not None:
        ring = _decaying_ring(t, impact_at_s, JOLT_TAU_S, JOLT_HZ)
        side = float(rng.choice([-1.0, 1.0]))
        cam_dy += float(rng.uniform(0.05, 0.07)) * ring
        cam_dx += side * float(rng.uniform(0.02, 0.035)) * ring
        cam_roll += side * float(np.deg2rad(rng.uniform(2.0, 3.5))) * ring

    passing = _passing_cars(rng, duration_s, impact_at_s)
    horn = None
    if impact_at_s is None and rng.uniform() < 0.7:
        horn = _pick_times(rng, 1, 1.0, duration_s - 1.5, [b.t for b in bumps], 1.5)
    lateral = 0.25 * _smooth_noise(rng, n, fps, 0.1)
    return DrivePlan(
        fps=fps,
        duration_s=n / fps,
        impact_at_s=impact_at_s,
        ego_speed=speed,
        ego_pos=pos,
        lead_gap=gap,
        lead_braking=braking,
        lead_lateral=lateral,
        cam_dx=cam_dx,
        cam_dy=cam_dy,
        cam_roll=cam_roll,
        bumps=bumps,
        passing=passing,
        horn_at_s=horn[0] if horn else None,
        lead_color=_CAR_COLORS[int(rng.integers(len(_CAR_COLORS)))],
    )


def _passing_cars(
    rng: np.random.Generator, duration_s: float, impact_at_s: float | None
) -> tuple[PassingCar, ...]:
    """A faster car overtaking on the left and, on normal drives, a slow truck the ego passes on the right."""
    cars = [
        PassingCar(
            t0=float(rng.uniform(0.5, max(0.6, duration_s * 0.4))),
            lane_x=-3.5,
            z0=-3.0,
            rel_speed=float(rng.uniform(5.0, 8.0)),
            color=_CAR_COLORS[int(rng.integers(len(_CAR_COLORS)))],
            truck=False,
        )
    ]
    if impact_at_s is None:
        cars.append(
            PassingCar(
                t0=float(rng.uniform(0.0, duration_s * 0.4)),
                lane_x=3.5,
                z0=float(rng.uniform(45.0, 60.0)),
                rel_speed=-float(rng.uniform(5.0, 8.0)),
                color=(200, 200, 205),
                truck=True,
            )
        )
    return tuple(cars)
