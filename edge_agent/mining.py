"""Runs a source through the miners and fusion: offline over a file, or item by item on a live stream.

``MiningSession`` is the streaming core: ``feed`` each decoded item and get back the incidents that
closed; bins are handed to fusion once every miner has had a chance to score them (a short, fixed
latency behind the media clock). ``mine_file`` is that loop over a whole recording. A live session
(``live=True``) runs for as long as the device does, so it keeps only the scores a clip can still ask
for (``live_history_s``), not the whole drive.

Items are mined in bursts (``[analysis] burst_s`` of media at a time), not one by one as they arrive:
between two items the decoder runs over megabytes of full-size pictures and evicts the miners' models,
buffers and code from the CPU caches, and mining item by item paid those misses on every call (it cost
about 45 % of decode time on one x86 core, against about 24 % in bursts of 0.3 s and 18 % in bursts of
1 s, the default). A burst also hands the audio miner one block instead of dozens of codec-sized ones.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from pathlib import Path

import msgspec
import numpy as np

from edge_agent.fusion import FusionEngine, Incident
from edge_agent.miners import AUDIO, VIDEO, EgoMotionEstimator, build_miners
from edge_agent.settings import AgentConfig
from edge_agent.source import AccelBlock, AudioBlock, Source, SourceInfo, VideoFrame, open_source
from shared_models import MinerTimeline

log = logging.getLogger(__name__)

_LATENCY_S = 0.5  # miners write scores up to this far behind the newest item they were fed

Item = VideoFrame | AudioBlock | AccelBlock


class MiningResult(msgspec.Struct, frozen=True):
    incidents: list[Incident]
    timelines: dict[str, MinerTimeline]  # every miner's scores over the whole source; {} for a live one
    duration_s: float
    fps: float
    frames: int
    versions: dict[str, str]  # miner kind -> version, e.g. for the health heartbeat
    dropped: dict[str, int] = {}  # incidents fusion dropped, by reason (short, kept_moving, budget)


def live_history_s(config: AgentConfig) -> float:
    """How far back a live session keeps scores: the longest clip window (pre-roll, a merged incident,
    its cooldown, post-roll) plus the wait of that clip for its recording (at most ``2 * segment_s + 10``
    s, see ``LiveClipper``) behind three others waiting their turn."""
    window = config.clip.pre_roll_s + config.fusion.max_incident_s + config.fusion.cooldown_s
    return window + config.clip.post_roll_s + 4 * (2 * config.recorder.segment_s + 10.0)


class MiningSession:
    def __init__(self, info: SourceInfo, config: AgentConfig, live: bool = False) -> None:
        self.info = info
        self.config = config
        self.live = live  # keep only the recent scores (live_history_s), not the whole source's
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
        self.frames = 0  # frames fed
        self.cuts = 0
        self._burst: list[Item] = []  # items waiting to be mined: tick frames, audio and G-sensor blocks
        self._burst_start_t: float | None = None  # media time of the burst's first item
        self._last_tick = -1
        self._video_t = 0.0  # time of the newest frame fed
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

    def feed(self, item: Item) -> list[Incident]:
        """One decoded item; returns incidents that closed because of it (usually none).

        The item waits in the current burst until the burst spans ``burst_s`` of media; then the whole
        burst is mined. ``finish`` mines what is left. Only the first frame of each analysis tick waits:
        the frames between ticks are decoded (the clip needs them) but never analysed, and dropping
        them at once lets the decoder reuse their memory while it is still in the CPU cache.
        """
        if self._burst_start_t is None:
            self._burst_start_t = item.t
        if isinstance(item, VideoFrame):
            self.frames += 1
            self._video_t = item.t
            tick = math.floor(item.t * self.rate_hz + 1e-3)
            if tick > self._last_tick:
                self._last_tick = tick
                self._burst.append(item)
        else:
            self._burst.append(item)
        if item.t - self._burst_start_t < self.config.analysis.burst_s:
            return []
        return self._mine_burst()

    def _mine_burst(self) -> list[Incident]:
        burst, self._burst, self._burst_start_t = self._burst, [], None
        audio = [item for item in burst if isinstance(item, AudioBlock)]
        for item in burst:
            if isinstance(item, VideoFrame):
                self._mine_frame(item)
            elif isinstance(item, AccelBlock):  # before the frames after it: the motion miner pairs them
                for miner in self.miners:
                    miner.on_accel(item)
        if audio:  # no miner reads both audio and video, so the burst's audio can go in one block
            block = audio[0] if len(audio) == 1 else _joined(audio)
            for miner in self.miners:
                miner.on_audio(block)
            self._audio_t = block.t + len(block.samples) / block.rate
        ready = int((min(self._video_t, self._audio_t) - _LATENCY_S) * self.rate_hz)
        return self._push_until(ready)

    def _mine_frame(self, frame: VideoFrame) -> None:
        # Camera motion is tracked from tick frame to tick frame (10 Hz), the rate the models were
        # trained at: tracking every frame and summing the steps adds the tracker's per-step noise
        # three times over (at 30 fps), a shake the motion model never saw, and it was 40 % of the
        # mining cost. ``feed`` keeps only the first frame of each tick for this.
        ego = self.ego.update(frame)
        self.fusion.observe(ego)
        if ego.cut:
            self.cuts += 1
            log.debug("mining.scene_cut t=%.2f", frame.t)
        for miner in self.miners:
            miner.on_video(frame, ego)

    def _push_until(self, bins: int) -> list[Incident]:
        closed: list[Incident] = []
        self.fusion.hearing = frozenset(m.kind for m in self.active if m.senses_contact())
        while self._pushed < bins:
            closed += self.fusion.push({m.kind: m.track.at(self._pushed) for m in self.active})
            self._pushed += 1
        if self.live:
            keep_from = self._pushed - int(live_history_s(self.config) * self.rate_hz)
            for miner in self.miners:
                miner.track.forget_before(keep_from)
        self.incidents += closed
        return closed

    def timelines_over(self, start_s: float, duration_s: float) -> list[MinerTimeline]:
        """Every miner's scores over a span of the source, first bin at ``start_s``: a live clip's share
        of a timeline that keeps growing (read from the clipper's thread while mining appends)."""
        first, count = round(start_s * self.rate_hz), round(duration_s * self.rate_hz)
        kept_from = max(m.track.first for m in self.miners)
        if first < kept_from:
            log.warning(
                "mining.history_forgotten start_s=%.2f kept_from_s=%.2f detail=the clip's earlier scores read 0",
                start_s,
                kept_from / self.rate_hz,
            )
        return [m.timeline(count, first) for m in sorted(self.miners, key=lambda m: m.kind)]

    def finish(self) -> MiningResult:
        """Mine the last burst, flush the last bins and close any open incident; the session is done."""
        if self._burst_start_t is not None:
            self._mine_burst()
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
            timelines={} if self.live else {m.kind: m.timeline(bins) for m in self.miners},
            duration_s=round(duration, 3),
            fps=self.info.fps,
            frames=self.frames,
            versions={m.kind: m.version for m in self.miners},
            dropped=dict(self.fusion.dropped),
        )


def _joined(blocks: list[AudioBlock]) -> AudioBlock:
    """Consecutive blocks as one (the log-mel framing is the same however the stream is cut)."""
    return AudioBlock(t=blocks[0].t, samples=np.concatenate([b.samples for b in blocks]), rate=blocks[0].rate)


def mine_items(info: SourceInfo, items: Iterable[Item], config: AgentConfig) -> MiningResult:
    """Mine a finite stream of items that ``info`` describes (a source, or items decoded beforehand)."""
    session = MiningSession(info, config)
    for item in items:
        session.feed(item)
    return session.finish()


def mine_source(source: Source, config: AgentConfig) -> MiningResult:
    return mine_items(source.info, source, config)


def mine_file(path: Path, config: AgentConfig) -> MiningResult:
    """Mine a whole recording; raises SourceError for a missing, corrupt or truncated file."""
    with open_source(path, config.analysis.width) as source:
        return mine_source(source, config)
