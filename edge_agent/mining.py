"""Runs a source through the miners and fusion: offline over a file, or item by item on a live stream.

``MiningSession`` is the streaming core: ``feed`` each decoded item and get back the incidents that
closed; bins are handed to fusion once every miner has had a chance to score them (a short, fixed
latency behind the media clock). ``mine_file`` is that loop over a whole recording.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import msgspec

from edge_agent.fusion import FusionEngine, Incident
from edge_agent.miners import AUDIO, VIDEO, EgoMotionEstimator, build_miners
from edge_agent.settings import AgentConfig
from edge_agent.source import AccelBlock, AudioBlock, Source, SourceInfo, VideoFrame, open_source
from shared_models import MinerTimeline

log = logging.getLogger(__name__)

_LATENCY_S = 0.5  # miners write scores up to this far behind the newest item they were fed


class MiningResult(msgspec.Struct, frozen=True):
    incidents: list[Incident]
    timelines: dict[str, MinerTimeline]  # every miner's scores over the whole source
    duration_s: float
    fps: float
    frames: int
    versions: dict[str, str]  # miner kind -> version, e.g. for the health heartbeat


class MiningSession:
    def __init__(self, info: SourceInfo, config: AgentConfig) -> None:
        self.info = info
        self.config = config
        self.rate_hz = config.analysis.timeline_hz
        self.miners = build_miners(config.miners, self.rate_hz)
        available = {VIDEO} | ({AUDIO} if info.audio_rate else set())
        for miner in self.miners:
            if not miner.inputs <= available:
                log.info(
                    "miner.no_input kind=%s missing=%s source=%s",
                    miner.kind,
                    sorted(miner.inputs - available),
                    info.uri,
                )
        self._runnable = [m for m in self.miners if m.inputs <= available]
        self.active = list(self._runnable)
        weights = {m.kind: m.config.weight for m in self.active}
        self.fusion = FusionEngine(config.fusion, weights, self.rate_hz)
        self.ego = EgoMotionEstimator(
            config.analysis.motion_width, config.analysis.cut_inlier_ratio, config.analysis.cut_correlation
        )
        self.frames = 0
        self.cuts = 0
        self._last_tick = -1
        self._video_t = 0.0  # time of the newest frame
        self._audio_t = 0.0 if info.audio_rate else math.inf  # end of the newest audio block
        self._pushed = 0
        self.incidents: list[Incident] = []

    def reconfigure(self, config: AgentConfig) -> None:
        """Apply a pushed config to the running session, without a restart.

        Fusion thresholds, cooldown, budget, miner weights and miner tuning apply from the next bin; a
        miner switched off stops counting at once. What changes how the source is decoded or which
        miners exist ([analysis], switching a miner on) applies to the next source, and is logged so.
        """
        for miner in self.miners:
            new = config.miners.get(miner.kind)
            if new is not None and new != miner.config:
                miner.reconfigure(new)
        self.active = [m for m in self._runnable if m.config.enabled]
        built = {m.kind for m in self.miners}
        switched_on = sorted(k for k, c in config.miners.items() if c.enabled and k not in built)
        if config.analysis != self.config.analysis or switched_on:
            log.info(
                "mining.reconfigure_deferred analysis_changed=%s miners_switched_on=%s",
                config.analysis != self.config.analysis,
                switched_on,
            )
        self.fusion.reconfigure(config.fusion, {m.kind: m.config.weight for m in self.active})
        self.config = config

    def feed(self, item: VideoFrame | AudioBlock | AccelBlock) -> list[Incident]:
        """One decoded item; returns incidents that closed because of it (usually none)."""
        if isinstance(item, VideoFrame):
            # Camera motion is tracked from tick frame to tick frame (10 Hz), the rate the models were
            # trained at: tracking every frame and summing the steps adds the tracker's per-step noise
            # three times over (at 30 fps), a shake the motion model never saw, and it was 40 % of the
            # mining cost. Frames between ticks are decoded (the clip needs them) but not analysed.
            tick = math.floor(item.t * self.rate_hz + 1e-3)
            if tick > self._last_tick:
                self._last_tick = tick
                ego = self.ego.update(item)
                if ego.cut:
                    self.cuts += 1
                    log.debug("mining.scene_cut t=%.2f", item.t)
                for miner in self.miners:
                    miner.on_video(item, ego)
            self.frames += 1
            self._video_t = item.t
        elif isinstance(item, AccelBlock):
            for miner in self.miners:
                miner.on_accel(item)
            return []
        else:
            for miner in self.miners:
                miner.on_audio(item)
            self._audio_t = item.t + len(item.samples) / item.rate
        ready = int((min(self._video_t, self._audio_t) - _LATENCY_S) * self.rate_hz)
        return self._push_until(ready)

    def _push_until(self, bins: int) -> list[Incident]:
        closed: list[Incident] = []
        while self._pushed < bins:
            closed += self.fusion.push({m.kind: m.track.at(self._pushed) for m in self.active})
            self._pushed += 1
        self.incidents += closed
        return closed

    def finish(self) -> MiningResult:
        """Flush the last bins and close any open incident; the session is done after this."""
        duration = self._video_t + (1.0 / self.info.fps if self.info.fps else 0.0)
        bins = max(1, math.ceil(duration * self.rate_hz - 1e-9))
        self._push_until(bins)
        self.incidents += self.fusion.finish()
        log.info(
            "mining.finished source=%s frames=%d cuts=%d incidents=%d duration_s=%.2f",
            self.info.uri,
            self.frames,
            self.cuts,
            len(self.incidents),
            duration,
        )
        return MiningResult(
            incidents=self.incidents,
            timelines={m.kind: m.timeline(bins) for m in self.miners},
            duration_s=round(duration, 3),
            fps=self.info.fps,
            frames=self.frames,
            versions={m.kind: m.version for m in self.miners},
        )


def mine_source(source: Source, config: AgentConfig) -> MiningResult:
    session = MiningSession(source.info, config)
    for item in source:
        session.feed(item)
    return session.finish()


def mine_file(path: Path, config: AgentConfig) -> MiningResult:
    """Mine a whole recording; raises SourceError for a missing, corrupt or truncated file."""
    with open_source(path, config.analysis.width) as source:
        return mine_source(source, config)
