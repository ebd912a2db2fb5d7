"""Decoding only what a reading needs: find the peak, then decode the few seconds around it.

Device clips come with the peak in their manifest. Uploads do not: the sound track places them (the
sharpest high-frequency onset, decoded in milliseconds), or, without sound, a full 10 Hz scan for the
largest frame change. Either way the peak is then moved to the largest frame change within
``features.SEARCH_S`` on decoded frames. Decoding starts at the keyframe before the window, so a
20-s 720p clip costs about 4 s of decode, not 20. (Encoded packet sizes were tried as a free proxy
for frame change and rejected: x264 codes a camera jolt's global shift cheaply.)
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path

import av
import msgspec
import numpy as np

from cloud_api.domain.assessments.scene import features
from cloud_api.domain.assessments.scene.reading import DecodedMotion, SceneSignals
from shared_models import IncidentManifest

PHYSICAL_MINERS = ("motion", "audio")
PEAK_WINDOW_S = 0.5
MOTION_FULL_SCALE = 20.0
ONSET_RATE = 16_000  # grey levels of mean change between frames 0.1 s apart that count as 1.0


class Observation(msgspec.Struct, frozen=True, kw_only=True):
    """The decoded window around the peak and the signals measured on it."""

    peak_t_s: float
    """Seconds from the clip start, after refinement on decoded frames."""
    window: np.ndarray
    """features.WINDOW grey frames at 64x36 around peak_t_s."""
    signals: SceneSignals
    caveats: list[str] = []
    """Why the model's input is unlike its training clips (the reading passes these on)."""


class ClipInfo(msgspec.Struct, frozen=True, kw_only=True):
    frame_count: int
    duration_s: float
    fps: float
    width: int
    height: int


def observe(clip: Path, manifest: IncidentManifest | None) -> Observation:
    """Raises ValueError when the clip is not a decodable video."""
    try:
        with av.open(str(clip)) as container:
            if not container.streams.video:
                raise ValueError("the clip has no video stream")
            stream = container.streams.video[0]
            # The deblocking filter only smooths block edges, which 4x4 averaging at 64x36 erases
            # anyway; skipping it makes H.264 decode about 30 % faster (same frame changes to 0.2).
            stream.codec_context.options = {"skip_loop_filter": "all"}
            info = _info(container, stream)
            nominal = _device_peak(manifest, info) if manifest else _upload_peak(container, stream, info)
            times = features.grid(nominal)
            small = np.stack([features.shrink(_grey(f)) for f in frames_at(container, stream, times)])
    except av.FFmpegError as e:
        raise ValueError(f"not a decodable video: {e}") from e
    peak_index = features.centre(small)
    window = features.window(small, peak_index)
    change = features.frame_change(window)
    peak_t = float(np.clip(times[peak_index], 0.0, info.duration_s))
    decoded = DecodedMotion(
        frame_count=info.frame_count,
        duration_s=info.duration_s,
        fps=info.fps,
        width=info.width,
        height=info.height,
        mean_energy=round(float(change.mean()), 3),
        peak_energy=round(float(change.max()), 3),
        peak_t_s=round(peak_t, 3),
    )
    signals = SceneSignals(
        decoded=decoded,
        motion_norm=round(min(1.0, decoded.peak_energy / MOTION_FULL_SCALE), 4),
        peak_score=manifest.score if manifest else None,
        peak_t_s=round(_device_peak(manifest, info), 3) if manifest else None,
        physical_at_peak=physical_at_peak(manifest) if manifest else None,
        miner_scores=dict(manifest.miner_scores) if manifest else {},
    )
    return Observation(
        peak_t_s=round(peak_t, 3), window=window, signals=signals, caveats=_caveats(window, peak_t, info)
    )


def _caveats(window: np.ndarray, peak_t: float, info: ClipInfo) -> list[str]:
    caveats = []
    if peak_t < features.PRE_S or peak_t > info.duration_s - features.POST_S:
        caveats.append(
            f"peak at {peak_t:.2f} s leaves less than {features.PRE_S:g} s before or {features.POST_S:g} s"
            " after it in the clip: the model saw repeated edge frames there"
        )
    background = float(features.frame_change(window[: round(features.PRE_S * features.RATE_HZ) - 3]).mean())
    if background > features.TRAINED_BACKGROUND_MAX:
        caveats.append(
            f"frame change before the peak ({background:.1f} grey levels) is above anything in the generated"
            f" training clips ({features.TRAINED_BACKGROUND_MAX:g}): a busier scene than the model knows"
        )
    return caveats


def frames_at(
    container: av.container.InputContainer, stream: av.VideoStream, times: Sequence[float]
) -> Iterator[av.VideoFrame]:
    """For each time (ascending), the decoded frame nearest to it; times outside the clip get its
    first or last frame. Seeks once, to the keyframe at or before the first time."""
    if len(times) == 0:
        return
    if stream.time_base is not None:
        container.seek(int(max(0.0, times[0]) / stream.time_base), stream=stream, backward=True)
    k, prev, prev_t = 0, None, -math.inf
    for frame in container.decode(stream):
        t = float(frame.time) if frame.time is not None else 0.0
        while k < len(times) and t >= times[k]:
            yield prev if prev is not None and times[k] - prev_t < t - times[k] else frame
            k += 1
        if k == len(times):
            return
        prev, prev_t = frame, t
    if prev is None:
        raise ValueError("no frame decoded")
    for _ in range(k, len(times)):
        yield prev


def jpeg_frames(clip: Path, times: Sequence[float], width: int) -> list[bytes]:
    """The frames nearest ``times`` as baseline JPEGs ``width`` pixels wide (what a video-LLM gets)."""
    images = []
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        for frame in frames_at(container, stream, times):
            height = max(2, round(width * frame.height / frame.width / 2) * 2)
            encoder = av.CodecContext.create("mjpeg", "w")
            encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuvj420p"
            encoder.time_base = Fraction(1, 25)
            image = frame.reformat(width=width, height=height, format="yuvj420p")
            images.append(b"".join(bytes(p) for p in [*encoder.encode(image), *encoder.encode(None)]))
    return images


def _grey(frame: av.VideoFrame) -> np.ndarray:
    width, height = features.WORK_SIZE
    return frame.reformat(width=width, height=height, format="gray").to_ndarray()


def _info(container: av.container.InputContainer, stream: av.VideoStream) -> ClipInfo:
    fps = float(stream.average_rate or 0) or 30.0
    if stream.duration is not None and stream.time_base is not None:
        duration = float(stream.duration * stream.time_base)
    elif container.duration:
        duration = container.duration / av.time_base
    else:
        duration = 0.0
    frames = stream.frames or round(duration * fps)
    if frames <= 0:
        raise ValueError("the clip has no video frames")
    return ClipInfo(
        frame_count=int(frames),
        duration_s=round(duration, 3),
        fps=round(fps, 3),
        width=stream.codec_context.width,
        height=stream.codec_context.height,
    )


def _device_peak(manifest: IncidentManifest, info: ClipInfo) -> float:
    return float(np.clip(manifest.peak_s - manifest.clip_start_s, 0.0, info.duration_s))


def _upload_peak(container: av.container.InputContainer, stream: av.VideoStream, info: ClipInfo) -> float:
    """Where to decode an upload: the sharpest rise in high-frequency sound (a crash is a broadband
    bang) when there is an audio track, else the largest frame change over a full 10 Hz scan."""
    if container.streams.audio:
        onset = _audio_onset(container, container.streams.audio[0])
        if onset is not None:
            return float(np.clip(onset, 0.0, info.duration_s))
    times = np.arange(0.0, info.duration_s, 1 / features.RATE_HZ)
    small = np.stack([features.shrink(_grey(f)) for f in frames_at(container, stream, times)])
    return float(times[1 + int(np.argmax(features.frame_change(small)))]) if len(times) > 1 else 0.0


def _audio_onset(container: av.container.InputContainer, audio: av.AudioStream) -> float | None:
    """Time of the largest jump in first-difference energy (25 ms hops, against the quietest hop
    of the second before): road hum and horns are low or tonal, an impact is not. The first second
    (no history yet: a clip starting mid-sound would look like an onset) and the last 0.25 s
    (encoder padding) are not searched."""
    resampler = av.AudioResampler(format="flt", layout="mono", rate=ONSET_RATE)
    chunks = [
        out.to_ndarray().reshape(-1) for frame in container.decode(audio) for out in resampler.resample(frame)
    ]
    if not chunks:
        return None
    samples = np.concatenate(chunks)
    hop = ONSET_RATE // 40
    hops = len(samples) // hop
    if hops < 41:
        return None
    energy = np.log10(
        np.square(np.diff(samples[: hops * hop], prepend=0.0)).reshape(hops, hop).mean(1) + 1e-10
    )
    floor = np.lib.stride_tricks.sliding_window_view(energy, 40).min(axis=1)  # floor[j]: hops j..j+39
    i = np.arange(40, hops - 10)
    return float(i[int(np.argmax(energy[i] - floor[i - 40]))] * hop / ONSET_RATE)


def physical_at_peak(manifest: IncidentManifest) -> float | None:
    """The strongest physical miner near the peak; None when the device ran no physical miner."""
    peak = manifest.peak_s - manifest.clip_start_s
    values: list[float] = []
    for timeline in manifest.timelines:
        if timeline.miner in PHYSICAL_MINERS and timeline.rate_hz > 0 and timeline.scores:
            lo = max(0, math.floor((peak - PEAK_WINDOW_S) * timeline.rate_hz))
            hi = min(len(timeline.scores), math.ceil((peak + PEAK_WINDOW_S) * timeline.rate_hz) + 1)
            values.extend(timeline.scores[lo:hi])
    if not values:
        values = [manifest.miner_scores[m] for m in PHYSICAL_MINERS if m in manifest.miner_scores]
    return round(max(values), 4) if values else None


def timeline_peaks(manifest: IncidentManifest) -> list[tuple[str, float, float]]:
    """(miner, score, seconds from the clip start) of each miner's highest score in the clip."""
    peaks = []
    for timeline in manifest.timelines:
        if timeline.rate_hz > 0 and timeline.scores:
            i = int(np.argmax(timeline.scores))
            peaks.append((timeline.miner, round(timeline.scores[i], 3), round(i / timeline.rate_hz, 2)))
    return peaks
