"""A live H.264 camera that streams a generated drive as MPEG-TS over TCP, in real time, and can be unplugged.

Like a real camera it runs on its own clock: the broadcast starts when the first viewer connects, and every
viewer (the agent opens two: OpenCV for mining, PyAV for recording) sees the same moment of the drive,
starting at the last keyframe (the GOP a camera keeps for new viewers). The drive loops with timestamps
that keep increasing, so the stream never ends by itself. Packets are remuxed from the drive's MP4 (no
re-encode), so a recording of the stream holds the drive's own slices.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import av


class TsCamera:
    """Serves ``drive`` on ``url`` (tcp://127.0.0.1:PORT) to any number of viewers until ``unplug``."""

    def __init__(self, drive: Path, port: int = 0) -> None:
        self.drive = str(drive)
        self.port = port
        self.connections = 0  # viewers accepted since the start, over all plugs
        self._t0: float | None = None  # monotonic time of drive time 0 of the first loop
        self._lock = threading.Lock()
        self._live = threading.Event()
        self._server: socket.socket | None = None
        self._viewers: list[socket.socket] = []
        with av.open(self.drive) as container:
            video = container.streams.video[0]
            self.period_s = float(video.frames / video.average_rate)  # one loop of the drive
        self.plug()

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def position_s(self) -> float:
        """Seconds the broadcast has run (0 before the first viewer)."""
        return 0.0 if self._t0 is None else time.monotonic() - self._t0

    def plug(self) -> None:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(8)
        self.port = server.getsockname()[1]
        self._server = server
        self._live.set()
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def unplug(self) -> None:
        """Every viewer's connection drops and the port refuses new ones, like a camera losing power."""
        self._live.clear()
        if self._server is not None:
            self._server.close()
            self._server = None
        with self._lock:
            viewers, self._viewers = self._viewers, []
        for viewer in viewers:
            try:
                viewer.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            viewer.close()

    def _accept(self, server: socket.socket) -> None:
        while self._live.is_set():
            try:
                viewer, _ = server.accept()
            except OSError:
                return
            with self._lock:
                self._t0 = self._t0 or time.monotonic()
                self._viewers.append(viewer)
                self.connections += 1
            threading.Thread(target=self._serve, args=(viewer,), daemon=True).start()

    def _serve(self, viewer: socket.socket) -> None:
        assert self._t0 is not None
        try:
            with (
                viewer.makefile("wb", buffering=0) as out,
                av.open(self.drive) as src,
                av.open(out, "w", format="mpegts", options={"flush_packets": "1"}) as dst,
            ):
                self._stream(src, dst)
        except (OSError, ValueError, av.FFmpegError):
            pass  # the viewer left or the camera was unplugged
        finally:
            viewer.close()

    def _stream(self, src: av.container.InputContainer, dst: av.container.OutputContainer) -> None:
        assert self._t0 is not None
        video, audio = src.streams.video[0], src.streams.audio[0]
        outputs = {
            video.index: dst.add_stream_from_template(video),
            audio.index: dst.add_stream_from_template(audio),
        }
        loop, local = divmod(time.monotonic() - self._t0, self.period_s)
        src.seek(int(local / video.time_base), stream=video, backward=True)
        last_dts: dict[int, int] = {}
        while self._live.is_set():
            for packet in src.demux(video, audio):
                if packet.dts is None or packet.pts is None:
                    continue
                t = float(packet.dts * packet.time_base)
                if t >= self.period_s:
                    continue  # audio past the last frame would overlap the next loop
                index = packet.stream.index
                shift = round(loop * self.period_s / packet.time_base)
                packet.pts += shift
                packet.dts += shift
                if packet.dts <= last_dts.get(index, -(2**62)):
                    continue  # the seek or the loop landed before what was already sent
                last_dts[index] = packet.dts
                wait = self._t0 + loop * self.period_s + t - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                if not self._live.is_set():
                    return
                packet.stream = outputs[index]
                dst.mux(packet)
            loop += 1
            src.seek(0, stream=video, backward=True)
