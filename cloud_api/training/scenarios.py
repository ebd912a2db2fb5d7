"""Labelled generated incidents for the local scene model: a seeded plan per case, drawn by
edge_agent.sample's renderer, with the scenario and the severity known exactly. Seeds from
EDGE_SEED_BASE on draw the edge sample's own impact drive instead (its physics, labelled the same way).

Physics, kept simple and stated (all speeds in m/s, the ego's camera 2 m behind its bumper):
- Severity is the ego's delta-v at contact, the usual predictor of crash damage and injury:
  NONE without contact, LOW below 2.8 (10 km/h), MEDIUM below 5.6 (20 km/h), HIGH above.
- Two cars of equal mass in a plastic impact share the closing speed: each loses half of it, so a
  closing speed of 2 dv at contact gives the ego a delta-v of dv.
- The camera jolt is a decaying ring (edge_agent.sample.plan) whose amplitude grows with delta-v
  (0.01 frame heights per m/s, so 6 m/s gives the 0.06 of the edge sample's impacts), times a
  mount stiffness drawn in [0.7, 1.3]: windscreen mounts differ, so the jolt alone never fixes the
  class near a threshold.
- Rear-end striking: the lead car brakes, the closing speed grows linearly to 2 dv at contact.
  Rear-end struck: the ego waits in a queue; the hit from behind throws it forward at dv and the
  camera pitches the other way. Lane change: a slower car cuts in from the next lane and is hit.
  Single vehicle: the ego hits something low that is not drawn (kerb, debris, pothole edge): the
  jolt, mostly vertical, and the lost speed are all there is to see. Near miss: the same approach
  as rear-end striking (or a cut-in), but the ego stops 0.3-2.5 m short. None: the edge sample's
  normal drive (road bumps, gentle braking, passing cars).
Head-on, intersection and parking cannot be drawn by this renderer (one straight road, every car
seen from behind), so the local model never answers them.
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import msgspec
import numpy as np

from cloud_api.domain.assessments.scene import features
from cloud_api.domain.assessments.taxonomy import Scenario
from edge_agent.sample.plan import (
    _CAR_COLORS,
    HOOD_M,
    JOLT_HZ,
    JOLT_TAU_S,
    DrivePlan,
    _decaying_ring,
    _passing_cars,
    _smooth_noise,
    plan_drive,
)
from edge_agent.sample.scene import SceneRenderer
from shared_models import Severity

FPS = 30
# Rendered above the working size and area-averaged down, as a decoded 720p frame is: rendering at
# the working size directly gives 10-20 % larger frame changes than the same drive decoded.
RENDER_SIZE = (384, 216)
DURATION_S = 8.0
LOW_MAX_DV = 2.8
MEDIUM_MAX_DV = 5.6
JOLT_PER_DV = 0.01
MIX: dict[Scenario, float] = {
    Scenario.NONE: 0.24,
    Scenario.REAR_END_STRIKING: 0.2,
    Scenario.REAR_END_STRUCK: 0.14,
    Scenario.LANE_CHANGE: 0.14,
    Scenario.SINGLE_VEHICLE: 0.12,
    Scenario.NEAR_MISS: 0.16,
}
EDGE_SEED_BASE = 1_000_000  # seeds from here on draw edge_agent.sample's own impact drive
TRAINED_SCENARIOS = features.MODEL_SCENARIOS
assert set(MIX) == set(TRAINED_SCENARIOS)


class Case(msgspec.Struct, frozen=True, kw_only=True):
    """The ground truth of one generated incident."""

    seed: int
    scenario: Scenario
    severity: Severity
    delta_v: float
    """The ego's delta-v at contact, m/s; 0 without contact."""
    event_t_s: float
    """Contact, closest approach or largest bump: where a device would put the peak."""


def severity_for(delta_v: float) -> Severity:
    if delta_v <= 0:
        return Severity.NONE
    if delta_v < LOW_MAX_DV:
        return Severity.LOW
    return Severity.MEDIUM if delta_v < MEDIUM_MAX_DV else Severity.HIGH


def make_case(seed: int) -> tuple[Case, DrivePlan]:
    if seed >= EDGE_SEED_BASE:
        return _edge_drive(seed)
    rng = np.random.default_rng([seed, 0x5CE7E])
    scenario = Scenario(rng.choice([s.value for s in MIX], p=list(MIX.values())))
    if scenario is Scenario.NONE:
        plan = plan_drive(seed, DURATION_S, FPS, None)
        biggest = max(plan.bumps, key=lambda b: b.amplitude, default=None)
        event = biggest.t if biggest else float(rng.uniform(3.0, 6.0))
        event = float(np.clip(event, features.DECODE_PRE_S, DURATION_S - features.DECODE_POST_S))
        return Case(seed=seed, scenario=scenario, severity=Severity.NONE, delta_v=0.0, event_t_s=event), plan
    te = float(rng.uniform(4.5, 5.5))
    delta_v = 0.0 if scenario is Scenario.NEAR_MISS else float(rng.uniform(0.4, 9.0))
    plan = _BUILDERS[scenario](rng, te, delta_v)
    case = Case(seed=seed, scenario=scenario, severity=severity_for(delta_v), delta_v=delta_v, event_t_s=te)
    return case, plan


def _edge_drive(seed: int) -> tuple[Case, DrivePlan]:
    """edge_agent.sample's own impact drive (what its demo and tests record): rear-end striking,
    labelled by the delta-v its plan implies, half the closing speed just before contact."""
    te = float(np.random.default_rng([seed, 0xED6E]).uniform(4.5, 5.5))
    plan = plan_drive(seed, DURATION_S, FPS, te)
    i = int(np.floor(te * FPS))  # the last frame before contact
    delta_v = float(plan.lead_gap[i - 1] - plan.lead_gap[i]) * FPS / 2
    case = Case(
        seed=seed,
        scenario=Scenario.REAR_END_STRIKING,
        severity=severity_for(delta_v),
        delta_v=delta_v,
        event_t_s=te,
    )
    return case, plan


class _Base:
    """Camera vibration, lateral wander and a passing car, shared by every incident plan."""

    def __init__(self, rng: np.random.Generator, te: float) -> None:
        self.rng, self.te = rng, te
        n = int(DURATION_S * FPS)
        self.t = np.arange(n) / FPS
        self.cam_dx = 0.0008 * _smooth_noise(rng, n, FPS, 3.0)
        self.cam_dy = 0.0012 * _smooth_noise(rng, n, FPS, 4.0)
        self.cam_roll = 0.001 * _smooth_noise(rng, n, FPS, 2.0)
        self.lateral = 0.25 * _smooth_noise(rng, n, FPS, 0.1)
        self.color_index = int(rng.integers(6))

    def jolt(self, delta_v: float, vertical: float, lateral: float) -> None:
        """The mount rings after contact; ``vertical`` < 0 pitches the camera the other way."""
        amplitude = JOLT_PER_DV * delta_v * float(self.rng.uniform(0.7, 1.3))
        ring = _decaying_ring(self.t, self.te, JOLT_TAU_S, JOLT_HZ)
        side = float(self.rng.choice([-1.0, 1.0]))
        self.cam_dy += vertical * amplitude * ring
        self.cam_dx += side * lateral * amplitude * ring
        self.cam_roll += side * np.deg2rad(45.0 * amplitude) * ring

    def brake_dive(self, start: float, decel: float) -> None:
        """Hard braking pitches the nose down for as long as it lasts, then the body rebounds."""
        on = np.clip((self.t - start) / 0.3, 0, 1) * (self.t < self.te + 0.2)
        self.cam_dy += 0.0025 * decel * on

    def plan(
        self, speed: np.ndarray, gap: np.ndarray, braking: np.ndarray, lateral: np.ndarray | None = None
    ) -> DrivePlan:
        speed = np.maximum(speed, 0.0)
        return DrivePlan(
            fps=FPS,
            duration_s=DURATION_S,
            impact_at_s=self.te,
            ego_speed=speed,
            ego_pos=np.concatenate([[0.0], np.cumsum(speed[:-1]) / FPS]),
            lead_gap=np.maximum(gap, HOOD_M),
            lead_braking=braking,
            lead_lateral=self.lateral if lateral is None else lateral,
            cam_dx=self.cam_dx,
            cam_dy=self.cam_dy,
            cam_roll=self.cam_roll,
            bumps=(),
            passing=_passing_cars(self.rng, DURATION_S, self.te),
            horn_at_s=None,
            lead_color=_CAR_COLORS[self.color_index],
        )


def _approach(
    b: _Base, closing: float, contact_gap: float, touching: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Speed, gap and brake lights for a lead car braking hard from a steady headway, the gap
    reaching ``contact_gap`` at te. ``touching``: the closing speed grows linearly to ``closing`` at
    contact (the ego brakes too late); else it peaks at ``closing`` and falls to 0 at the closest
    approach (the ego brakes in time)."""
    rng, t, te = b.rng, b.t, b.te
    v0 = min(30.0, closing + float(rng.uniform(2.0, 10.0)))
    headway = float(rng.uniform(0.8, 1.6)) * v0
    brake_s = float(np.clip(2 * (headway - contact_gap) / max(closing, 0.1), 1.0, 3.5))
    tb = te - brake_s
    g_b = contact_gap + closing * brake_s / 2
    gap = np.where(t < tb, g_b + 0.6 * _smooth_noise(rng, len(t), FPS, 0.2), 0.0)
    during = (t >= tb) & (t < te)
    if touching:
        gap = np.where(during, g_b - closing * (t - tb) ** 2 / (2 * brake_s), gap)
    else:
        gap = np.where(during, contact_gap + closing * (te - t) ** 2 / (2 * brake_s), gap)
    speed = np.full(len(t), v0) * (1 + 0.02 * _smooth_noise(rng, len(t), FPS, 0.2))
    return speed, gap, t >= tb


def _striking(rng: np.random.Generator, te: float, delta_v: float) -> DrivePlan:
    b = _Base(rng, te)
    speed, gap, braking = _approach(b, 2 * delta_v, HOOD_M, touching=True)
    after = b.t >= te
    v_after = max(float(np.interp(te, b.t, speed)) - delta_v, 0.0)
    speed = np.where(after, np.clip(v_after - 6.0 * (b.t - te), 0, None), speed)
    gap = np.where(after, HOOD_M, gap)  # locked together
    b.jolt(delta_v, vertical=1.0, lateral=0.45)
    return b.plan(speed, gap, braking)


def _near_miss(rng: np.random.Generator, te: float, delta_v: float) -> DrivePlan:
    if rng.uniform() < 0.35:
        return _cut_in(rng, te, delta_v=0.0)
    b = _Base(rng, te)
    closest = HOOD_M + float(rng.uniform(0.3, 2.5))
    speed, gap, braking = _approach(b, float(rng.uniform(2.0, 12.0)), closest, touching=False)
    # The ego brakes hard in the last second and matches the lead's speed at the closest approach.
    decel = float(rng.uniform(6.0, 9.0))
    b.brake_dive(te - 1.0, decel)
    after = b.t >= te
    gap = np.where(after, closest + 0.8 * (b.t - te) ** 2, gap)
    speed = np.where(b.t >= te - 1.0, speed - decel * np.clip(b.t - (te - 1.0), 0, 1.0), speed)
    return b.plan(speed, gap, braking)


def _struck(rng: np.random.Generator, te: float, delta_v: float) -> DrivePlan:
    b = _Base(rng, te)
    queue_gap = float(rng.uniform(3.5, 9.0))
    decel = float(rng.uniform(4.0, 7.0))
    after = np.clip(b.t - te, 0, None)
    speed = np.where(b.t >= te, np.clip(delta_v - decel * after, 0, None), 0.0)
    travelled = np.concatenate([[0.0], np.cumsum(speed[:-1]) / FPS])
    gap = np.maximum(queue_gap - travelled, HOOD_M + 0.3)
    b.cam_dx *= 0.3  # engine idling: less vibration than on the move
    b.cam_dy *= 0.3
    b.jolt(delta_v, vertical=-1.0, lateral=0.3)
    return b.plan(speed, gap, np.ones(len(b.t), dtype=bool))


def _cut_in(rng: np.random.Generator, te: float, delta_v: float) -> DrivePlan:
    """A slower car from the next lane cuts in; with delta_v 0 the ego brakes and misses it."""
    b = _Base(rng, te)
    side = float(rng.choice([-1.0, 1.0]))
    closing = 2 * delta_v if delta_v > 0 else float(rng.uniform(2.0, 6.0))
    contact_gap = HOOD_M if delta_v > 0 else HOOD_M + float(rng.uniform(0.5, 2.5))
    v0 = min(30.0, closing + float(rng.uniform(4.0, 12.0)))
    gap = contact_gap + closing * np.clip(te - b.t, 0, None)
    cut_s = float(rng.uniform(1.0, 2.0))
    end_x = side * float(rng.uniform(0.3, 1.2))
    frac = np.clip((b.t - (te - cut_s)) / cut_s, 0, 1)
    lateral = side * 3.5 + (end_x - side * 3.5) * (3 * frac**2 - 2 * frac**3)
    speed = np.full(len(b.t), v0)
    after = b.t >= te
    if delta_v > 0:
        v_after = max(v0 - delta_v, 0.0)
        speed = np.where(after, np.clip(v_after - 6.0 * (b.t - te), 0, None), speed)
        gap = np.where(after, HOOD_M, gap)
        b.jolt(delta_v, vertical=0.6, lateral=0.9)
    else:
        decel = float(rng.uniform(5.0, 8.0))
        b.brake_dive(te - 0.8, decel)
        speed = np.where(b.t >= te - 0.8, speed - decel * np.clip(b.t - (te - 0.8), 0, 1.2), speed)
        gap = np.where(after, contact_gap + 0.6 * (b.t - te) ** 2, gap)
    return b.plan(speed, gap, b.t >= te - 0.5, lateral)


def _single(rng: np.random.Generator, te: float, delta_v: float) -> DrivePlan:
    b = _Base(rng, te)
    v0 = min(30.0, delta_v + float(rng.uniform(3.0, 15.0)))
    speed = np.full(len(b.t), v0) * (1 + 0.02 * _smooth_noise(rng, len(b.t), FPS, 0.2))
    after = b.t >= te
    speed = np.where(after, np.clip(v0 - delta_v - 5.0 * (b.t - te), 0, None), speed)
    gap = 55.0 + 15.0 * np.abs(_smooth_noise(rng, len(b.t), FPS, 0.1))  # nobody close ahead
    b.jolt(delta_v, vertical=1.4, lateral=0.3)
    return b.plan(speed, gap, np.zeros(len(b.t), dtype=bool))


_BUILDERS = {
    Scenario.REAR_END_STRIKING: _striking,
    Scenario.REAR_END_STRUCK: _struck,
    Scenario.LANE_CHANGE: lambda rng, te, dv: _cut_in(rng, te, dv),
    Scenario.SINGLE_VEHICLE: _single,
    Scenario.NEAR_MISS: _near_miss,
}


def render_grid(case: Case, plan: DrivePlan, jitter_s: float = 0.0) -> np.ndarray:
    """The ``features.grid`` frames around the case's event, shrunk: what decoding would give."""
    renderer = SceneRenderer(plan, *RENDER_SIZE, case.seed)
    times = features.grid(case.event_t_s + jitter_s)
    idx = np.clip(np.round(times * FPS).astype(int), 0, plan.frames - 1)
    grey = [cv2.cvtColor(renderer.render(int(i)), cv2.COLOR_BGR2GRAY) for i in idx]
    return np.stack(
        [features.shrink(cv2.resize(g, features.WORK_SIZE, interpolation=cv2.INTER_AREA)) for g in grey]
    )


def generated(count: int, first_seed: int, jitter_s: float = 0.3) -> Iterator[tuple[Case, np.ndarray]]:
    """``count`` labelled cases and their features.WINDOW frames; the peak is off by up to
    ``jitter_s``, as a device's fused peak would be, then re-centred on the largest change as at
    serving time."""
    for seed in range(first_seed, first_seed + count):
        case, plan = make_case(seed)
        jitter = float(np.random.default_rng([seed, 0x7177]).uniform(-jitter_s, jitter_s))
        small = render_grid(case, plan, jitter)
        yield case, features.window(small, features.centre(small))
