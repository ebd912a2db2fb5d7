"""Varied generated drives for training and evaluating the miners: the kinds of moment a dashcam meets.

``plan_drive`` gives one story (a rear-end crash or a quiet drive). A ``Scenario`` varies it with
physics a reviewer can check: the ego's speed, the crash's severity and direction (the camera jolt
scales with the collision's Delta-v and points along the hit), side and pedestrian-like impacts with no
lead car closing in (in half the side impacts the ego's front strikes a crossing car and loses speed
there, as a rear-end's does), near misses (hard braking to a few metres, a nose dive, a tyre squeal, no
contact), potholes (a sharp vertical jolt and a loud low thud), horns, and lighting changes (tunnels,
sun flicker). Sounds beyond ``sound.synthesize`` (skid, glass, other horns) are added here.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import msgspec
import numpy as np

from edge_agent.sample.plan import (
    BUMP_HZ,
    BUMP_TAU_S,
    HOOD_M,
    JOLT_HZ,
    JOLT_TAU_S,
    Bump,
    DrivePlan,
    plan_drive,
)
from edge_agent.sample.plan import _decaying_ring as decaying_ring
from edge_agent.sample.sound import SAMPLE_RATE, synthesize
from edge_agent.sample.sound import _decay as decay
from edge_agent.sample.sound import _shaped_noise as shaped_noise

Kind = Literal["normal", "rear_end", "side_impact", "pedestrian", "near_miss"]
IMPACT_KINDS: tuple[Kind, ...] = ("rear_end", "side_impact", "pedestrian")


class Scenario(msgspec.Struct, frozen=True, kw_only=True):
    """What to generate; ``event_s`` is the impact (or the closest approach of a near miss)."""

    kind: Kind = "normal"
    seed: int = 0
    duration_s: float = 20.0
    event_s: float | None = None
    fps: int = 30


class ScenarioDrive(msgspec.Struct, frozen=True, kw_only=True):
    """A drive ready to render and play, with its ground truth."""

    scenario: Scenario
    plan: DrivePlan
    audio: np.ndarray  # mono float32 at SAMPLE_RATE
    gain: np.ndarray  # per-frame brightness factor (tunnels, flicker)
    impact_at_s: float | None
    ttc: np.ndarray  # per-frame time-to-contact with the lead car (inf when not closing)
    sounds: dict[str, list[float]]  # class -> onset times of the sound events (impact, skid, glass, horn)


def _vibration(rng: np.random.Generator, n: int, fps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Camera shake: a slow sway plus the windscreen mount's fast shake on this drive's road.

    The fast part matters: real dashcam clips (``../shared/data/real`` normal drives, measured with the
    deployed tracker) move 0.3-1 % of the frame width and up to 0.5 degrees of roll per 0.1 s on plain
    roads, from mount resonance (6-12 Hz), road texture, rolling shutter and tracking noise on
    compressed frames. The first generator only swayed (< 0.1 % per 0.1 s), so the motion model learnt
    that any shake is a collision and fired all through real normal drives. ``roughness`` spans a
    smooth motorway with a stiff mount (0.3) to a broken road with a loose one (3.0), log-uniform per
    drive, so the models learn the jolt as a shake far above the drive's own background, not above zero.
    """
    from edge_agent.sample.plan import _smooth_noise

    roughness = float(np.exp(rng.uniform(np.log(0.3), np.log(3.0))))
    shake_hz = float(rng.uniform(6.0, 12.0))
    return (
        0.0008 * _smooth_noise(rng, n, fps, 3.0) + roughness * 0.0015 * _smooth_noise(rng, n, fps, shake_hz),
        0.0012 * _smooth_noise(rng, n, fps, 4.0) + roughness * 0.002 * _smooth_noise(rng, n, fps, shake_hz),
        0.001 * _smooth_noise(rng, n, fps, 2.0) + roughness * 0.003 * _smooth_noise(rng, n, fps, shake_hz),
    )


def _jolt(rng: np.random.Generator, kind: Kind, severity: float) -> tuple[float, float, float]:
    """Peak camera shift (dx, dy as fractions) and roll (rad) for a hit of this kind and severity."""
    side = float(rng.choice([-1.0, 1.0]))
    if kind == "rear_end":  # pitch dominates: the car noses down and rebounds
        return (
            side * rng.uniform(0.01, 0.035),
            rng.uniform(0.03, 0.07),
            side * np.deg2rad(rng.uniform(1, 3.5)),
        )
    if kind == "side_impact":  # the hit pushes the car sideways and rolls it
        return side * rng.uniform(0.035, 0.08), rng.uniform(0.008, 0.02), side * np.deg2rad(rng.uniform(2, 5))
    return (
        side * rng.uniform(0.005, 0.015),
        rng.uniform(0.012, 0.03),
        side * np.deg2rad(rng.uniform(0.5, 1.5)),
    )


def _speed_scaled(plan: DrivePlan, factor: float) -> DrivePlan:
    speed = plan.ego_speed * factor
    pos = np.concatenate([[0.0], np.cumsum(speed[:-1]) / plan.fps])
    return dataclasses.replace(plan, ego_speed=speed, ego_pos=pos)


def _brake_to_rest(plan: DrivePlan, impact_s: float, rng: np.random.Generator, kept: float) -> DrivePlan:
    """After a side or pedestrian-like hit the driver brakes to a stop, as every driver must after a
    collision: a reaction of 0.5-1.2 s, then 4-8 m/s^2 (a firm to an emergency stop). The lead car drives
    on, so its gap grows by the distance the ego no longer covers. (A rear-end's ego already stops
    locked to the car it hit, in ``plan_drive``.) Without this the ego drove on at full speed after the
    hit, which no real crash clip shows and which let a camera-only jolt pass for a collision without
    the stop that follows one. ``kept`` is the share of its speed the ego keeps through the impact
    itself (below 1 where its front struck something: ``_striking``)."""
    t = np.arange(plan.frames) / plan.fps
    brake_from = impact_s + float(rng.uniform(0.5, 1.2))
    decel = float(rng.uniform(4.0, 8.0))
    stepped = np.where(t < impact_s, plan.ego_speed, plan.ego_speed * kept)
    v_then = float(np.interp(brake_from, t, stepped))
    speed = np.where(t < brake_from, stepped, np.clip(v_then - decel * (t - brake_from), 0.0, None))
    pos = np.concatenate([[0.0], np.cumsum(speed[:-1]) / plan.fps])
    gap = plan.lead_gap + (plan.ego_pos - pos)
    return dataclasses.replace(plan, ego_speed=speed, ego_pos=pos, lead_gap=gap)


def _striking(scenario: Scenario) -> float:
    """The share of its speed the ego keeps through a side impact (1.0: it was the car struck).

    An angle crash has a striking car, whose front hits, and a struck car, hit in its side; a fleet's
    dashcams film from either, so half the side impacts are the ego's front striking a car that crosses
    its path (as in the real ego crash clips). Along its own axis the striking car shares its momentum
    with one that had none there: a plastic collision keeps m1 / (m1 + m2) of its speed, 0.4-0.67 for
    the other car 0.5-1.5 times its mass, and a glancing hit more; so it keeps 0.4-0.75. Its own RNG,
    so every other draw is unchanged.
    """
    if scenario.kind != "side_impact":
        return 1.0
    rng = np.random.default_rng(scenario.seed * 7 + 65_537)
    return float(rng.uniform(0.4, 0.75)) if rng.uniform() < 0.5 else 1.0


def _ttc(plan: DrivePlan) -> np.ndarray:
    closing = -np.gradient(plan.lead_gap, 1.0 / plan.fps)
    with np.errstate(divide="ignore"):
        return np.where(closing > 0.3, (plan.lead_gap - HOOD_M) / closing, np.inf)


def _lighting(rng: np.random.Generator, n: int, fps: int) -> np.ndarray:
    gain = np.full(n, float(rng.uniform(0.55, 1.15)))  # time of day
    t = np.arange(n) / fps
    if rng.uniform() < 0.5:  # a tunnel: light fades over half a second, stays low, comes back
        t0, length = rng.uniform(0, n / fps), rng.uniform(2.0, 6.0)
        inside = np.clip((t - t0) / 0.5, 0, 1) * np.clip((t0 + length - t) / 0.5, 0, 1)
        gain *= 1.0 - float(rng.uniform(0.4, 0.65)) * inside
    if rng.uniform() < 0.3:  # sun through trees: flicker for a few seconds
        t0 = rng.uniform(0, n / fps)
        span = (t >= t0) & (t < t0 + rng.uniform(2, 5))
        gain = np.where(span, gain * (1 + 0.25 * np.sign(np.sin(2 * np.pi * rng.uniform(2, 6) * t))), gain)
    return gain.astype(np.float32)


def skid(rng: np.random.Generator, t: np.ndarray, t0: float, length: float) -> np.ndarray:
    """A tyre squeal: a wavering tone with harmonics over friction noise."""
    gate = np.clip((t - t0) / 0.05, 0, 1) * np.clip((t0 + length - t) / 0.1, 0, 1)
    f = rng.uniform(700, 1800) * (1 + 0.03 * np.sin(2 * np.pi * rng.uniform(3, 9) * t))
    phase = 2 * np.pi * np.cumsum(f) / SAMPLE_RATE
    tone = np.sin(phase) + 0.4 * np.sin(2 * phase) + 0.2 * np.sin(3 * phase)
    noise = shaped_noise(rng, len(t), SAMPLE_RATE, 800, 6000)
    return gate * (rng.uniform(0.04, 0.12) * tone + 0.03 * noise)


def glass(rng: np.random.Generator, t: np.ndarray, t0: float) -> np.ndarray:
    """Breaking glass alone: a shower of short high clicks over half a second."""
    out = np.zeros(len(t))
    for tt in t0 + np.abs(rng.exponential(0.15, int(rng.integers(20, 60)))):
        i = int(tt * SAMPLE_RATE)
        if i + 300 < len(t):
            out[i : i + 300] += (
                rng.standard_normal(300) * np.exp(-np.arange(300) / 50.0) * rng.uniform(0.05, 0.2)
            )
    return out - np.convolve(out, np.ones(8) / 8, mode="same")


def horn(rng: np.random.Generator, t: np.ndarray, t0: float, loud: float) -> np.ndarray:
    length = rng.uniform(0.2, 1.2)
    gate = np.clip((t - t0) / 0.02, 0, 1) * np.clip((t0 + length - t) / 0.02, 0, 1)
    base = rng.uniform(300, 520)
    tone = sum(np.sin(2 * np.pi * f * k * t) / k for f in (base, base * 1.25) for k in (1, 2, 3, 4))
    return loud * gate * tone


def distractor(rng: np.random.Generator, t: np.ndarray, t0: float) -> np.ndarray:
    """A sound that is no crash: an indicator or alarm tone, a loud low knock, or a door-like thud."""
    pick = rng.integers(3)
    if pick == 0:
        length = rng.uniform(0.2, 1.5)
        gate = np.clip((t - t0) / 0.01, 0, 1) * np.clip((t0 + length - t) / 0.01, 0, 1)
        return gate * rng.uniform(0.05, 0.35) * np.sin(2 * np.pi * rng.uniform(200, 2500) * t)
    if pick == 1:
        f = rng.uniform(40, 120)
        return rng.uniform(0.2, 0.7) * np.sin(2 * np.pi * f * t) * decay(t, t0, rng.uniform(0.05, 0.15), 0.01)
    low = shaped_noise(rng, len(t), SAMPLE_RATE, 50, 600)
    return rng.uniform(0.1, 0.3) * low * decay(t, t0, rng.uniform(0.03, 0.08), 0.005)


def soft_impact(rng: np.random.Generator, t: np.ndarray, t0: float) -> np.ndarray:
    """A pedestrian-like hit: a dull broadband thud, far less metal than a car-to-car crash."""
    thud = rng.standard_normal(len(t)) * decay(t, t0, 0.06) * rng.uniform(0.2, 0.4)
    low = np.sin(2 * np.pi * rng.uniform(60, 110) * t) * decay(t, t0, 0.1) * 0.4
    return thud + low


def build_scenario(scenario: Scenario) -> ScenarioDrive:
    s = scenario
    rng = np.random.default_rng(s.seed * 7 + 12_345)
    impact = s.event_s if s.kind in IMPACT_KINDS else None
    rear = s.kind == "rear_end"
    plan = plan_drive(s.seed, s.duration_s, s.fps, s.event_s if rear else None)
    # Ego speed: mostly 0.45-1.25 x the plan's (about 8-32 m/s); one drive in five crawls in traffic.
    crawl = rng.uniform() < 0.2
    plan = _speed_scaled(plan, float(rng.uniform(0.02, 0.2) if crawl else rng.uniform(0.45, 1.25)))
    kept = _striking(s)
    front = rear or kept < 1.0  # the ego's front hit: its speed steps down there, and its engine stalls
    if impact is not None and not rear:  # its own generator: the draws below stay as they were
        plan = _brake_to_rest(plan, impact, np.random.default_rng(s.seed * 7 + 54_321), kept)
    n, t = plan.frames, np.arange(plan.frames) / s.fps
    cam_dx, cam_dy, cam_roll = _vibration(rng, n, s.fps)
    bumps = list(plan.bumps)
    if s.kind == "normal":  # potholes: sharper and stronger than bumps, at any speed
        for pt in rng.uniform(1.0, s.duration_s - 1.0, int(rng.integers(0, 3))):
            bumps.append(Bump(float(pt), float(rng.uniform(0.03, 0.06))))
    for b in bumps:
        cam_dy += b.amplitude * decaying_ring(t, b.t, BUMP_TAU_S, BUMP_HZ)
    gap = plan.lead_gap
    sounds: dict[str, list[float]] = {"impact": [], "skid": [], "glass": [], "horn": []}
    if impact is not None:
        severity = float(rng.uniform(0.35, 1.0))
        jx, jy, jr = _jolt(rng, "rear_end" if front else s.kind, severity)  # a front hit pitches the car
        ring = decaying_ring(t, impact, JOLT_TAU_S, JOLT_HZ)
        cam_dx, cam_dy, cam_roll = (
            cam_dx + severity * jx * ring,
            cam_dy + severity * jy * ring,
            cam_roll + severity * jr * ring,
        )
    if s.kind == "near_miss" and s.event_s is not None:
        closest = float(rng.uniform(2.6, 4.5))
        dip = np.clip((t - (s.event_s - 2.5)) / 5.0, 0, 1)
        depth = max(0.0, float(np.interp(s.event_s - 2.5, t, gap)) - closest)
        gap = np.maximum(gap - depth * np.sin(np.pi * dip) ** 2, closest)
        brake = np.clip((t - (s.event_s - 1.5)) / 0.4, 0, 1) * np.clip((s.event_s + 1.0 - t) / 0.6, 0, 1)
        cam_dy = cam_dy + float(rng.uniform(0.006, 0.015)) * brake  # nose dive under hard braking
    plan = dataclasses.replace(
        plan,
        lead_gap=gap,
        cam_dx=cam_dx,
        cam_dy=cam_dy,
        cam_roll=cam_roll,
        bumps=tuple(bumps),
        impact_at_s=impact if front else None,  # the speed step: sound (crash, stall) and G-sensor pulse
    )
    audio = synthesize(plan, s.seed).astype(np.float64)
    ta = np.arange(len(audio)) / SAMPLE_RATE
    if front and impact is not None:
        sounds["impact"].append(impact)
        sounds["glass"].append(impact)
    elif impact is not None:
        from edge_agent.sample.sound import _impact

        hit = (
            _impact(rng, ta, impact, SAMPLE_RATE) if s.kind == "side_impact" else soft_impact(rng, ta, impact)
        )
        audio += hit
        sounds["impact"].append(impact)
    if s.kind == "near_miss" and s.event_s is not None and rng.uniform() < 0.7:
        start = s.event_s - float(rng.uniform(0.8, 1.5))
        audio += skid(rng, ta, start, float(rng.uniform(0.6, 1.5)))
        sounds["skid"].append(start)
    if impact is None and rng.uniform() < 0.5:  # cabin and street sounds that are no crash
        audio += distractor(rng, ta, float(rng.uniform(0.5, s.duration_s - 1.0)))
    if rng.uniform() < 0.4:
        th = float(rng.uniform(0.5, s.duration_s - 1.5))
        if impact is None or abs(th - impact) > 2.0:
            audio += horn(rng, ta, th, float(rng.uniform(0.01, 0.08)))
            sounds["horn"].append(th)
    if plan.horn_at_s is not None:
        sounds["horn"].append(plan.horn_at_s)
    audio = (0.8 * np.tanh(audio / 0.8)).astype(np.float32)
    return ScenarioDrive(
        scenario=s,
        plan=plan,
        audio=audio,
        gain=_lighting(rng, n, s.fps),
        impact_at_s=impact,
        ttc=_ttc(plan),
        sounds=sounds,
    )
