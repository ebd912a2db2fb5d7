"""Writes a generated sample drive: a real H.264 + AAC MP4 with a known impact time (or none).

This is a synthetic stand-in for dashcam footage, made so that demos and tests have a drive whose
ground truth is known exactly; it is rendered, not filmed.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated

import av
import msgspec
import numpy as np

from edge_agent.sample.gsensor import gsensor_readings, write_gsensor_csv
from edge_agent.sample.plan import plan_drive
from edge_agent.sample.scene import SceneRenderer
from edge_agent.sample.sound import SAMPLE_RATE, synthesize
from edge_agent.source.gsensor import sidecar_for

log = logging.getLogger(__name__)

_AAC_FRAME = 1024


class SampleDriveSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What to generate. Width and height must be even (yuv420p)."""

    seed: int = 0
    impact_at_s: Annotated[float, msgspec.Meta(ge=0)] | None = 12.0
    duration_s: Annotated[float, msgspec.Meta(gt=0)] = 20.0
    width: Annotated[int, msgspec.Meta(ge=64, multiple_of=2)] = 1280
    height: Annotated[int, msgspec.Meta(ge=36, multiple_of=2)] = 720
    fps: Annotated[int, msgspec.Meta(ge=1, le=120)] = 30
    gsensor: bool = False  # also write the G-sensor sidecar <stem>.gsensor.csv beside the video

    def __post_init__(self) -> None:
        if self.impact_at_s is not None and not 3.0 <= self.impact_at_s <= self.duration_s - 0.5:
            raise ValueError("impact_at_s must leave 3 s of approach before and 0.5 s after it")


class SampleDriveTruth(msgspec.Struct, frozen=True):
    """Ground truth of a written drive: what a miner should find in it."""

    impact_at_s: float | None
    duration_s: float
    width: int
    height: int
    fps: int
    seed: int

    def to_json(self) -> str:
        return msgspec.json.encode(self).decode()


def _validated(spec: SampleDriveSpec) -> SampleDriveSpec:
    """Structs built in code skip Meta checks; round-trip through convert to apply them."""
    return msgspec.convert(msgspec.to_builtins(spec), SampleDriveSpec)


def write_sample_drive(out: Path, spec: SampleDriveSpec) -> SampleDriveTruth:
    """Render, encode and atomically write the drive to ``out``; returns its ground truth."""
    spec = _validated(spec)
    plan = plan_drive(spec.seed, spec.duration_s, spec.fps, spec.impact_at_s)
    renderer = SceneRenderer(plan, spec.width, spec.height, spec.seed)
    audio = synthesize(plan, spec.seed)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.part")
    with av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"}) as container:
        video = container.add_stream("libx264", rate=spec.fps)
        video.width, video.height, video.pix_fmt = spec.width, spec.height, "yuv420p"
        # A keyframe every second: clips are cut on keyframes, so this bounds the extra pre-roll.
        video.options = {
            "preset": "veryfast",
            "crf": "23",
            "x264-params": f"keyint={spec.fps}:min-keyint={spec.fps}:scenecut=0",
        }
        sound = container.add_stream("aac", rate=SAMPLE_RATE, layout="mono")
        sound.bit_rate = 96_000
        sent = 0
        for i in range(plan.frames):
            frame = av.VideoFrame.from_ndarray(renderer.render(i), format="bgr24")
            frame.pts = i
            container.mux(video.encode(frame))
            due = int((i + 1) / spec.fps * SAMPLE_RATE)
            while sent + _AAC_FRAME <= due or (i == plan.frames - 1 and sent < len(audio)):
                sent = _mux_audio(container, sound, audio, sent)
        container.mux(video.encode(None))
        container.mux(sound.encode(None))
    os.replace(tmp, out)
    if spec.gsensor:
        write_gsensor_csv(sidecar_for(out), gsensor_readings(plan, spec.seed))
    truth = SampleDriveTruth(spec.impact_at_s, plan.duration_s, spec.width, spec.height, spec.fps, spec.seed)
    log.info(
        "sample.written path=%s frames=%d impact_at_s=%s bytes=%d",
        out,
        plan.frames,
        spec.impact_at_s,
        out.stat().st_size,
    )
    return truth


def _mux_audio(
    container: av.container.OutputContainer, stream: av.AudioStream, audio: np.ndarray, sent: int
) -> int:
    block = audio[sent : sent + _AAC_FRAME]
    frame = av.AudioFrame.from_ndarray(block[None, :], format="fltp", layout="mono")
    frame.sample_rate = SAMPLE_RATE
    frame.pts = sent
    container.mux(stream.encode(frame))
    return sent + len(block)
