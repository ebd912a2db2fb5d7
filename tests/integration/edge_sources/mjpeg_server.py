"""An HTTP MJPEG camera (multipart/x-mixed-replace), as IP cameras serve it, that a test can unplug."""

from __future__ import annotations

import http.server
import socketserver
import threading
import time

import cv2
import numpy as np


class MjpegCamera:
    """Serves numbered, textured 320x180 JPEG frames at ``fps`` on ``url`` until ``unplug``."""

    def __init__(self, fps: float = 25.0, port: int = 0) -> None:
        self.fps = fps
        self.sent = 0
        self._live = threading.Event()
        self._server: socketserver.ThreadingTCPServer | None = None
        self.port = port
        self.plug()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/stream.mjpg"

    def _frame(self, n: int) -> bytes:
        rng = np.random.default_rng(n)
        image = rng.integers(0, 255, (180, 320, 3), dtype=np.uint8)
        cv2.putText(image, str(n), (20, 120), cv2.FONT_HERSHEY_SIMPLEX, 3, (255, 255, 255), 6)
        return cv2.imencode(".jpg", image)[1].tobytes()

    def plug(self) -> None:
        camera = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                while camera._live.is_set():
                    jpg = camera._frame(camera.sent)
                    head = f"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpg)}\r\n\r\n"
                    try:
                        self.wfile.write(head.encode() + jpg + b"\r\n")
                        self.wfile.flush()
                    except OSError:
                        return
                    camera.sent += 1
                    time.sleep(1.0 / camera.fps)

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        server = socketserver.ThreadingTCPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        self._live.set()
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def unplug(self) -> None:
        """Streams end and the port refuses connections, like a camera losing power."""
        self._live.clear()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
