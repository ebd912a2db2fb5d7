"""Small PyAV helpers the media tests use to derive test inputs from generated drives."""

from __future__ import annotations

from pathlib import Path

import av


def strip_audio(src: Path, out: Path) -> Path:
    """The same video packets without the audio track."""
    with av.open(str(src)) as inp, av.open(str(out), "w", format="mp4") as dst:
        video = inp.streams.video[0]
        stream = dst.add_stream_from_template(video)
        for packet in inp.demux(video):
            if packet.dts is None:
                continue
            packet.stream = stream
            dst.mux(packet)
    return out


def splice(first: Path, second: Path, cut_at_s: float, out: Path) -> Path:
    """``first`` up to ``cut_at_s`` then ``second`` from the same time on, re-encoded: one hard scene cut."""
    with av.open(str(first)) as a, av.open(str(second)) as b, av.open(str(out), "w", format="mp4") as dst:
        va, vb = a.streams.video[0], b.streams.video[0]
        stream = dst.add_stream("libx264", rate=int(va.average_rate))
        stream.width, stream.height, stream.pix_fmt = (
            va.codec_context.width,
            va.codec_context.height,
            "yuv420p",
        )
        stream.options = {"preset": "ultrafast"}
        for index, (fa, fb) in enumerate(zip(a.decode(va), b.decode(vb), strict=False)):
            frame = fa if float(fa.pts * va.time_base) < cut_at_s else fb
            new = av.VideoFrame.from_ndarray(frame.to_ndarray(format="yuv420p"), format="yuv420p")
            new.pts = index
            dst.mux(stream.encode(new))
        dst.mux(stream.encode(None))
    return out


def box_order(path: Path) -> list[bytes]:
    """Top-level MP4 box types in file order."""
    data = path.read_bytes()
    boxes, pos = [], 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        boxes.append(data[pos + 4 : pos + 8])
        if size == 1:
            size = int.from_bytes(data[pos + 8 : pos + 16], "big")
        if size < 8:
            break
        pos += size
    return boxes


def video_packets(path: Path) -> list[tuple[float, bool]]:
    """(pts seconds, is keyframe) of every video packet, in decode order."""
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        return [(float(p.pts * v.time_base), p.is_keyframe) for p in c.demux(v) if p.pts is not None]


def decoded_frames(path: Path) -> list[float]:
    """Presentation times of every decoded video frame."""
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        return [float(f.pts * v.time_base) for f in c.decode(v)]
