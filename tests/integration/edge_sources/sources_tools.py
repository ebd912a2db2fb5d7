"""PyAV helpers that derive dashcam-like inputs from generated drives: segment files, a still video."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np


def split_segments(src: Path, cuts_s: list[float], folder: Path, stem: str = "seg") -> list[Path]:
    """``src`` remuxed (no re-encode) into consecutive files cut at ``cuts_s`` (keyframe times), each
    starting at time 0 as a dashcam writes them: ``seg_000.mp4``, ``seg_001.mp4``, ..."""
    folder.mkdir(parents=True, exist_ok=True)
    bounds = [0.0, *cuts_s, float("inf")]
    paths = []
    for k in range(len(bounds) - 1):
        lo, hi = bounds[k], bounds[k + 1]
        out = folder / f"{stem}_{k:03d}.mp4"
        with av.open(str(src)) as inp, av.open(str(out), "w", format="mp4") as dst:
            media = (*inp.streams.video, *inp.streams.audio)
            streams = {s.index: dst.add_stream_from_template(s) for s in media}
            for packet in inp.demux(*media):
                if packet.pts is None or packet.dts is None:
                    continue
                tb = packet.time_base
                t = float(packet.pts * tb)
                if not lo - 1e-6 <= t < hi - 1e-6:
                    continue
                shift = round(lo / tb)
                packet.pts -= shift
                packet.dts -= shift
                packet.stream = streams[packet.stream.index]
                dst.mux(packet)
        paths.append(out)
    return paths


def write_still_video(out: Path, image: np.ndarray, seconds: float, fps: int = 30) -> Path:
    """An H.264 video of one unchanging picture (what a frozen camera records)."""
    with av.open(str(out), "w", format="mp4") as dst:
        stream = dst.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = image.shape[1], image.shape[0], "yuv420p"
        stream.options = {"preset": "ultrafast", "x264-params": f"keyint={fps}"}
        for i in range(int(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts = i
            dst.mux(stream.encode(frame))
        dst.mux(stream.encode(None))
    return out


def h264_slices(path: Path) -> list[bytes]:
    """The coded slices (NAL types 1 and 5) of each video packet of an MP4, in decode order.

    A stream that went through MPEG-TS gains access-unit delimiters and repeated SPS/PPS, which an MP4
    made from it keeps; the slices are the picture data itself, so equal slices mean no re-encode.
    """
    slices = []
    with av.open(str(path)) as container:
        for packet in container.demux(video=0):
            data, kept, i = bytes(packet), [], 0
            while i + 4 <= len(data):
                size = int.from_bytes(data[i : i + 4], "big")
                if data[i + 4] & 0x1F in (1, 5):
                    kept.append(data[i + 4 : i + 4 + size])
                i += 4 + size
            if kept:
                slices.append(b"".join(kept))
    return slices


def position_in(part: list[bytes], whole: list[bytes]) -> int:
    """Index in ``whole`` where ``part`` occurs as a contiguous run; -1 if it does not."""
    for start in range(len(whole) - len(part) + 1):
        if whole[start : start + len(part)] == part:
            return start
    return -1
