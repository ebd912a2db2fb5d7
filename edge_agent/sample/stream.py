"""A generated drive played straight into the mining loop, without encoding it to H.264 first.

The fast generation setting of the evaluation and the feature source of training: frames are rendered
at the analysis size and only every ``stride``-th one (the camera still moves, and blurs, at the
plan's 30 fps), audio is the synthesised PCM (no AAC round trip), and the G-sensor readings come with
it when asked for. Several drives can be spliced one after another: an edit, i.e. a scene cut.
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np

from edge_agent.sample.gsensor import gsensor_readings
from edge_agent.sample.scenarios import IMPACT_KINDS, ScenarioDrive
from edge_agent.sample.scene import SceneRenderer
from edge_agent.sample.sound import SAMPLE_RATE
from edge_agent.source.base import AccelBlock, AudioBlock, Source, SourceInfo, VideoFrame

_AUDIO_BLOCK = 1024
_ACCEL_BLOCK_S = 0.1


def accel_readings(drive: ScenarioDrive) -> np.ndarray:
    """The drive's G-sensor log. A hit that steps the ego's speed down (rear-end, striking side impact)
    is a crash pulse of that Delta-v in ``gsensor_readings``; the others, with no speed step (struck in
    the side, pedestrian-like), add a lateral / longitudinal pulse here."""
    plan, s = drive.plan, drive.scenario
    readings = gsensor_readings(plan, s.seed)
    if (
        drive.impact_at_s is not None and plan.impact_at_s is None
    ):  # not a rear-end: no speed step in the plan
        rng = np.random.default_rng(s.seed + 31)
        peak_g = rng.uniform(3.0, 9.0) if s.kind == "side_impact" else rng.uniform(0.8, 2.5)
        phase = np.clip((readings[:, 0] - drive.impact_at_s) / 0.1, 0, 1)
        pulse = np.where(phase > 0, np.sin(np.pi * phase), 0.0) * peak_g * 9.81
        readings[:, 2 if s.kind == "side_impact" else 1] -= pulse.astype(np.float32)
    return readings


class GeneratedSource(Source):
    """Frames (gray, ``width`` wide), audio and optionally G-sensor blocks of one or more drives."""

    def __init__(
        self,
        drives: list[ScenarioDrive],
        width: int = 320,
        stride: int = 3,
        accel: bool = False,
        jpeg_quality: int | None = 40,
    ) -> None:
        self.drives = drives
        self.width = width
        self.stride = stride
        self.accel = accel
        self.jpeg_quality = jpeg_quality  # lossy round trip standing in for the recorder's H.264 artefacts
        fps = drives[0].plan.fps
        height = round(width * 9 / 16 / 2) * 2
        self.height = height
        self.offsets = [float(x) for x in np.cumsum([0.0] + [d.plan.duration_s for d in drives[:-1]])]
        total = sum(d.plan.duration_s for d in drives)
        self.info = SourceInfo(
            uri="generated:" + "+".join(f"{d.scenario.kind}/{d.scenario.seed}" for d in drives),
            width=width,
            height=height,
            fps=fps / stride,
            duration_s=total,
            analysis_width=width,
            analysis_height=height,
            audio_rate=SAMPLE_RATE,
        )

    def _items(self, drive: ScenarioDrive, offset: float, index0: int) -> Iterator[tuple[float, int, object]]:
        plan = drive.plan
        renderer = SceneRenderer(plan, self.width, self.height, drive.scenario.seed)
        for i in range(0, plan.frames, self.stride):
            yield offset + i / plan.fps, 1, ("video", renderer, drive, i, index0 + i // self.stride)
        for a in range(0, len(drive.audio), _AUDIO_BLOCK):
            yield offset + a / SAMPLE_RATE, 0, ("audio", drive.audio[a : a + _AUDIO_BLOCK])
        if self.accel:
            readings = accel_readings(drive)
            readings[:, 0] += offset
            step = max(1, int(_ACCEL_BLOCK_S * 100))
            for a in range(0, len(readings), step):
                yield float(readings[a, 0]), 2, ("accel", readings[a : a + step])

    def __iter__(self) -> Iterator[VideoFrame | AudioBlock | AccelBlock]:
        index0 = 0
        for drive, offset in zip(self.drives, self.offsets, strict=True):
            for t, _, item in sorted(self._items(drive, offset, index0), key=lambda x: (x[0], x[1])):
                if item[0] == "video":
                    _, renderer, d, i, index = item
                    bgr = renderer.render(i)
                    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).astype(np.float32) * float(d.gain[i])
                    gray = np.clip(gray, 0, 255).astype(np.uint8)
                    if self.jpeg_quality is not None:
                        ok, jpeg = cv2.imencode(".jpg", gray, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
                        gray = cv2.imdecode(jpeg, cv2.IMREAD_GRAYSCALE) if ok else gray
                    yield VideoFrame(t=float(t), index=index, gray=gray)
                elif item[0] == "audio":
                    yield AudioBlock(t=float(t), samples=item[1], rate=SAMPLE_RATE)
                else:
                    yield AccelBlock(t=float(t), samples=item[1])
            index0 += drive.plan.frames // self.stride + 1

    def close(self) -> None:
        """Nothing to release: everything is generated in memory."""


def is_impact(drive: ScenarioDrive) -> bool:
    return drive.scenario.kind in IMPACT_KINDS
