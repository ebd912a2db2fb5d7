"""Fuses the miners' timelines into incidents, bin by bin, as they are produced.

Evidence from different miners of one collision lands a few hundred milliseconds apart (the car looms,
then the jolt and the bang), so each miner's score is first held at its maximum over a short
corroboration window; the fused score is the weighted mean of these over the miners that have input.
Hysteresis turns the fused score into incidents; a cooldown and an hourly budget keep a bad road or a
noisy cabin from flooding the uplink. The budget never drops an incident stronger than every one it let
through in the last hour: weak triggers that filled it (a rough road on a camera without sound) must not
hide the crash that comes after them, and a record score can only be beaten so often.

One kind of evidence is enough on its own: a miner in ``alone_miners`` (the crash sound) whose score
stays at or above ``alone_threshold`` for ``alone_hold_s`` lifts the fused score to that held level. A
pedestrian-like hit or a crawl into a car's side barely moves the camera, but it is heard; a door, a
knock or a horn is a tick or two of sound, not a sustained, confident crash.

An incident that nothing heard must also be followed by the vehicle slowing towards rest (``rest.py``):
a pothole jolts the camera, and a G-sensor, as hard as a light collision does, but only the collision
stops the car. Nothing heard is no sound track (no miner in ``hearing``) or, with
``unheard_jolt_opens``, a sound track whose miners did not confirm the jolt: an incident the jolt would
open without a microphone then opens with one too and is checked the same way. By default a sound track
that hears nothing crash-like vetoes the jolt, so a crash whose sound the audio model does not recognise
(it reads real crash recordings at 0.13 at most) is lost; the option is off because the rest check it
would lean on is fooled in traffic and under bridges (README: "A microphone that hears no crash").

A trigger within the cooldown after an incident is the same incident going on (a car spun round after
the hit, a second impact, a jolt that opened the incident a few seconds before the crash itself), so
it extends that incident instead of being dropped: its peak moves to the strongest moment and its span
to the last trigger's end, and its clip covers both. An incident is therefore reported only when its
cooldown has passed without another trigger (or the source ends), and a merged one spans at most
``max_incident_s``.
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Mapping
from typing import Annotated

import msgspec

from edge_agent.fusion.incident import Incident
from edge_agent.fusion.rest import BEFORE_S, ForwardFlow
from edge_agent.miners.ego_motion import EgoMotion

log = logging.getLogger(__name__)

Unit = Annotated[float, msgspec.Meta(ge=0, le=1)]
Seconds = Annotated[float, msgspec.Meta(ge=0)]


class FusionConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    enter_threshold: Unit = 0.6  # fused score that opens an incident
    exit_threshold: Unit = 0.3  # fused score below which it closes
    corroboration_s: Seconds = 1.0  # each miner's score is held at its max over this centred window
    min_duration_s: Seconds = 0.2  # shorter incidents are dropped as glitches
    cooldown_s: Seconds = 10.0  # a trigger this soon after an incident ended extends it (one incident)
    max_incident_s: Seconds = 30.0  # a merged incident spans at most this; later triggers wait the cooldown
    max_incidents_per_hour: Annotated[int, msgspec.Meta(ge=0)] = 12  # upload budget, on the source's clock
    # Miners whose score foreshadows a collision but is no evidence of contact (looming ahead happens on
    # every approach to a queue). They add to an open incident's score but never decide that one opens:
    # the contact miners' own fused score must reach enter_threshold too.
    precursors: frozenset[str] = frozenset({"proximity"})
    # Miners whose score, at or above alone_threshold for alone_hold_s (ticks in a row, within the
    # corroboration window or the run's own length), is evidence enough: the fused score is at least the
    # lowest score of that run.
    alone_miners: frozenset[str] = frozenset({"audio"})
    alone_threshold: Unit = 0.9
    alone_hold_s: Seconds = 0.3
    # An incident only the camera witnessed passes only if the forward flow, within rest_within_s after
    # its peak, falls below rest_ratio of its level before (the vehicle slowed towards rest). It is
    # judged when its cooldown ends, on the flow seen by then: a cooldown shorter than rest_within_s
    # sees less of the stop.
    rest_check: bool = True
    rest_ratio: Unit = 0.35
    rest_within_s: Seconds = 8.0
    # Where sound is mined, the jolt and looming fused without the hearing miners open an incident too
    # (checked for a stop like one nothing heard) when the sound does not confirm it. Off: see above.
    unheard_jolt_opens: bool = False

    def __post_init__(self) -> None:
        if self.exit_threshold > self.enter_threshold:
            raise ValueError("exit_threshold must not be above enter_threshold")
        if self.max_incident_s < self.min_duration_s:
            raise ValueError("max_incident_s must not be below min_duration_s")
        if self.alone_miners & self.precursors:
            raise ValueError("a precursor cannot be in alone_miners: it senses no contact")

    @property
    def flow_history_s(self) -> float:
        """How far back the forward flow must reach when an incident is judged: its cooldown after the
        end of an incident as long as max_incident_s, and the seconds before its peak."""
        return self.max_incident_s + self.cooldown_s + BEFORE_S[0] + 1.0


class _Open(msgspec.Struct):
    start_s: float
    peak_s: float
    peak_key: tuple[float, float]
    score: float
    miner_scores: dict[str, float]
    heard: bool  # the hearing miners confirmed it at some bin: no stop needed
    end_s: float = 0.0  # set when it closes; a later trigger within the cooldown reopens it


class FusionEngine:
    """Feed one bin of per-miner scores at a time with ``push``; ``finish`` at the end of the source."""

    def __init__(self, config: FusionConfig, weights: Mapping[str, float], rate_hz: float) -> None:
        self.config = config
        self.weights = {k: w for k, w in weights.items() if w > 0}
        self.rate_hz = rate_hz
        self._set_windows()
        self._bins: deque[dict[str, float]] = deque()  # raw bins still inside some decision window
        self._base = 0  # index of _bins[0]
        self._received = 0
        self._next = 0  # index of the next bin to decide
        self._above_exit_since: float | None = None
        self._suppressing = False
        self._open: _Open | None = None
        self._closed: _Open | None = None  # ended, waiting out its cooldown before it is reported
        self._accepted: deque[tuple[float, float]] = deque()  # (peak_s, score) reported in the last hour
        self.dropped: Counter[str] = Counter()  # incidents dropped, by reason: short, kept_moving, budget
        self._flow = ForwardFlow(config.flow_history_s)
        # Set by the session: the miners that sense contact itself (a microphone's bang), not only a jolt
        # (the camera's, a G-sensor's). An incident none of them confirmed must also show the vehicle
        # slowing (rest_check); with none (no sound track mined), that is every incident.
        self._hearing: frozenset[str] = frozenset()
        self._set_weights()

    def reconfigure(self, config: FusionConfig, weights: Mapping[str, float]) -> None:
        """New thresholds, budget and weights for the bins still to decide (a pushed config).

        An open incident stays open and is judged by the new thresholds from now on; incidents already
        accepted this hour keep counting against the new budget; a longer corroboration window reaches
        back only as far as the bins still held.
        """
        self.config = config
        self.weights = {k: w for k, w in weights.items() if w > 0}
        self._set_windows()
        self._set_weights()
        self._flow.keep_s = config.flow_history_s
        log.info(
            "fusion.reconfigured enter=%.3f exit=%.3f cooldown_s=%.1f budget=%d weights=%s",
            config.enter_threshold,
            config.exit_threshold,
            config.cooldown_s,
            config.max_incidents_per_hour,
            self.weights,
        )

    def _set_windows(self) -> None:
        """Bins either side of a decision: the corroboration window, and an alone miner's whole run."""
        self._half = max(0, round(self.config.corroboration_s * self.rate_hz / 2))
        self._alone_run = max(1, round(self.config.alone_hold_s * self.rate_hz))
        self._alone_kinds = sorted(self.config.alone_miners & self.weights.keys())
        self._reach = max(self._half, self._alone_run - 1) if self._alone_kinds else self._half

    @property
    def hearing(self) -> frozenset[str]:
        return self._hearing

    @hearing.setter
    def hearing(self, kinds: frozenset[str]) -> None:
        if kinds != self._hearing:
            self._hearing = frozenset(kinds)
            self._set_weights()

    def _set_weights(self) -> None:
        """The weights each reading fuses: all miners, those sensing contact (no precursor), and both
        without the hearing miners (what a source without sound would fuse)."""
        contact = {k: w for k, w in self.weights.items() if k not in self.config.precursors}
        self._contact_weights = contact
        self._unheard = {k: w for k, w in self.weights.items() if k not in self._hearing}
        self._unheard_contact = {k: w for k, w in contact.items() if k not in self._hearing}

    def observe(self, ego: EgoMotion) -> None:
        """The camera motion at the latest analysis tick, for the rest check; before the bins it covers."""
        self._flow.add(ego)

    def push(self, scores: Mapping[str, float]) -> list[Incident]:
        """The next bin's raw score per active miner; returns the incidents that closed."""
        self._bins.append(dict(scores))
        self._received += 1
        closed: list[Incident] = []
        while self._next + self._reach < self._received:  # its whole window has arrived
            closed += self._decide(self._next)
        return closed

    def finish(self) -> list[Incident]:
        closed: list[Incident] = []
        while self._next < self._received:
            closed += self._decide(self._next)
        if self._open is not None:
            self._close(self._received / self.rate_hz)
        return closed + self._report()

    def _decide(self, index: int) -> list[Incident]:
        self._next = index + 1
        t = index / self.rate_hz
        window = self._window(index, self._half)
        centre = self._bins[index - self._base]
        held = {k: max(b.get(k, 0.0) for b in window) for k in self.weights}
        alone = self._alone(self._window(index, self._reach)) if self._alone_kinds else 0.0
        enter = self.config.enter_threshold
        fused = max(_mean(self.weights, held), alone)
        opens = fused >= enter and max(_mean(self._contact_weights, held), alone) >= enter
        heard = opens and bool(self._hearing)  # the sound confirmed it (with no sound, nothing did)
        if self._hearing and self.config.unheard_jolt_opens:
            unheard = _mean(self._unheard, held)
            fused = max(fused, unheard)
            opens = opens or (unheard >= enter and _mean(self._unheard_contact, held) >= enter)
        raw = _mean(self.weights, centre)
        while self._base < self._next - self._reach:
            self._bins.popleft()
            self._base += 1
        if fused < self.config.exit_threshold:
            self._above_exit_since, self._suppressing = None, False
        elif self._above_exit_since is None:
            self._above_exit_since = t
        waited = self._closed is not None and t - self._closed.end_s >= self.config.cooldown_s
        reported = self._report() if waited else []
        if self._open is None:
            if opens:
                self._start(t, fused, raw, held, heard)
            return reported
        self._open.heard |= heard
        if (fused, raw) > self._open.peak_key:
            self._open.peak_s, self._open.peak_key = t, (fused, raw)
            self._open.score, self._open.miner_scores = fused, held
        if fused < self.config.exit_threshold:
            self._close(t)
        return reported

    def _window(self, index: int, half: int) -> list[dict[str, float]]:
        lo, hi = max(index - half, self._base), min(index + half, self._received - 1)
        return [self._bins[j - self._base] for j in range(lo, hi + 1)]

    def _alone(self, window: list[dict[str, float]]) -> float:
        """The highest score an alone miner held for ``alone_hold_s`` in the window, if it reaches
        ``alone_threshold``; else 0."""
        n, best = self._alone_run, 0.0
        for k in self._alone_kinds:
            scores = [b.get(k, 0.0) for b in window]
            for i in range(len(scores) - n + 1):
                best = max(best, min(scores[i : i + n]))
        return best if best >= self.config.alone_threshold else 0.0

    def _start(self, t: float, fused: float, raw: float, held: dict[str, float], heard: bool) -> None:
        start = self._above_exit_since if self._above_exit_since is not None else t
        last = self._closed
        if last is not None and start - last.end_s < self.config.cooldown_s:
            if t - last.start_s <= self.config.max_incident_s:
                log.info("fusion.merged at_s=%.2f into_start_s=%.2f", t, last.start_s)
                self._open, self._closed = last, None
                last.heard |= heard
                if (fused, raw) > last.peak_key:
                    last.peak_s, last.peak_key, last.score, last.miner_scores = t, (fused, raw), fused, held
            elif not self._suppressing:
                log.info("fusion.suppressed reason=cooldown at_s=%.2f last_end_s=%.2f", t, last.end_s)
                self._suppressing = True
            return
        self._open = _Open(
            start_s=start, peak_s=t, peak_key=(fused, raw), score=fused, miner_scores=held, heard=heard
        )

    def _close(self, end: float) -> None:
        """The open incident ended; it waits out its cooldown (a trigger in it extends the incident)."""
        current, self._open = self._open, None
        assert current is not None
        if end - current.start_s < self.config.min_duration_s:
            log.info("fusion.dropped reason=short start_s=%.2f end_s=%.2f", current.start_s, end)
            self.dropped["short"] += 1
            return
        current.end_s = end
        self._closed = current

    def _kept_moving(self, current: _Open) -> bool:
        """An incident nothing heard after which the vehicle did not slow towards rest (logged, dropped)."""
        if current.heard or not self.config.rest_check:
            return False
        reading = self._flow.reading(current.peak_s, self.config.rest_within_s)
        if reading is None or reading.after <= self.config.rest_ratio * reading.before:
            return False
        log.info(
            "fusion.dropped reason=kept_moving peak_s=%.2f score=%.3f flow_before=%.3f flow_after_min=%.3f",
            current.peak_s,
            current.score,
            reading.before,
            reading.after,
        )
        self.dropped["kept_moving"] += 1
        return True

    def _report(self) -> list[Incident]:
        """The incident whose cooldown passed (or whose source ended), if the hourly budget allows it."""
        current, self._closed = self._closed, None
        if current is None or self._kept_moving(current):
            return []
        while self._accepted and self._accepted[0][0] <= current.peak_s - 3600.0:
            self._accepted.popleft()
        if len(self._accepted) >= self.config.max_incidents_per_hour:
            strongest = max((score for _, score in self._accepted), default=None)
            if strongest is None or current.score <= strongest:
                log.warning(
                    "fusion.suppressed reason=budget peak_s=%.2f score=%.3f", current.peak_s, current.score
                )
                self.dropped["budget"] += 1
                return []
            log.warning(
                "fusion.over_budget reason=stronger_than_this_hour peak_s=%.2f score=%.3f strongest_before=%.3f",
                current.peak_s,
                current.score,
                strongest,
            )
        self._accepted.append((current.peak_s, current.score))
        incident = Incident(
            start_s=round(current.start_s, 3),
            peak_s=round(current.peak_s, 3),
            end_s=round(current.end_s, 3),
            score=round(current.score, 4),
            miner_scores={k: round(v, 4) for k, v in sorted(current.miner_scores.items())},
        )
        log.info("fusion.incident %s", incident.describe())
        return [incident]


def _mean(weights: Mapping[str, float], scores: Mapping[str, float]) -> float:
    """The weighted mean of ``scores`` over ``weights``' miners (a miner without a score counts 0).

    Its contact variant leaves the precursors out: a strong jolt on a road with a sound track but no
    bang, tipped over the threshold by a looming score, is the pattern of a pothole behind a queue; a
    collision also shakes or sounds.
    """
    total = sum(weights.values())
    return sum(w * scores.get(k, 0.0) for k, w in weights.items()) / total if total else 0.0
