"""Uploads and clip streaming over real HTTP (uvicorn on loopback): the size cap answers before the body
is read, refused uploads are counted and leave nothing behind, and clips are served with byte ranges."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from cloud_api.settings import Settings
from tests.integration.cloud.api_served import ServedCloud, served
from tests.integration.cloud.support import write_mp4


@pytest.fixture
def server(make_settings: Callable[..., Settings]) -> Iterator[ServedCloud]:
    with served(make_settings(worker_enabled=False, max_upload_size_mb=1)) as cloud:
        yield cloud


def _raw_exchange(port: int, head: str, body_chunks: Iterator[bytes] | None = None) -> tuple[bytes, int]:
    """Send ``head`` then body chunks until the server answers; (answer, body bytes offered before it).

    A chunk the socket cannot take at once is dropped, not retried: once the server stops reading, all
    that matters is that its answer arrives, and this side never blocks waiting to send.
    """
    chunks = body_chunks or iter(())
    sent, answer = 0, b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head.encode())
        sock.setblocking(False)
        deadline = time.monotonic() + 60  # generous: the machine may be busy
        while time.monotonic() < deadline and b"\r\n\r\n" not in answer:
            try:
                answer += sock.recv(65536)
                continue
            except BlockingIOError:
                pass
            except ConnectionResetError:
                break
            chunk = next(chunks, None)
            if chunk is None:
                time.sleep(0.01)
                continue
            try:
                sock.sendall(chunk)
                sent += len(chunk)
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                time.sleep(0.01)
        sock.settimeout(5)
        try:
            answer += sock.recv(65536)
        except OSError:
            pass
    return answer, sent


def test_an_announced_oversize_body_is_refused_before_any_of_it_is_read(server: ServedCloud) -> None:
    key = server.key("write")
    head = (
        "POST /claims/upload HTTP/1.1\r\nHost: t\r\nX-API-Key: " + key + "\r\n"
        "Content-Type: multipart/form-data; boundary=xyz\r\nContent-Length: 10737418240\r\n\r\n"
    )
    answer, sent = _raw_exchange(server.port, head)
    assert answer.startswith(b"HTTP/1.1 413") and b"application/problem+json" in answer and sent == 0


def test_a_chunked_oversize_body_is_cut_off_and_leaves_nothing(server: ServedCloud) -> None:
    key = server.key("read,write")
    head = (
        "POST /claims/upload HTTP/1.1\r\nHost: t\r\nX-API-Key: " + key + "\r\n"
        "Content-Type: multipart/form-data; boundary=xyz\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    part = b'--xyz\r\nContent-Disposition: form-data; name="video"; filename="big.mp4"\r\n\r\n'

    def chunks() -> Iterator[bytes]:
        payload = [part] + [b"\x00" * 65536] * 1024  # 64 MB offered against a 1 MB cap
        for data in payload:
            yield f"{len(data):x}\r\n".encode() + data + b"\r\n"

    answer, sent = _raw_exchange(server.port, head, chunks())
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    # The answer came long before the 64 MB were offered (what was sent includes the kernel socket buffers).
    assert sent < 48 * 1024 * 1024, f"{sent} bytes went out before the refusal"
    assert not list((server.runtime.settings.blob_dir / "tmp").iterdir())
    metrics = httpx.get(f"{server.url}/metrics", headers={"X-API-Key": key}).text
    assert 'dashclaim_upload_rejections_total{reason="too_large"} 1' in metrics


def test_json_bodies_are_capped_far_below_the_upload_limit(server: ServedCloud) -> None:
    key = server.key("read,write")
    big = {"decision": "APPROVE", "reasoning": "x" * 200_000}
    answer = httpx.post(f"{server.url}/reviews/some-claim/decision", json=big, headers={"X-API-Key": key})
    assert answer.status_code == 413 and answer.headers["content-type"].startswith("application/problem+json")


def test_clip_streaming_with_ranges(server: ServedCloud, tmp_path: Path) -> None:
    headers = {"X-API-Key": server.key("read,write")}
    video = write_mp4(tmp_path / "clip.mp4", lambda i: (i * 9) % 255, seconds=3.0)
    with httpx.Client(base_url=server.url, headers=headers) as http:
        claim_id = http.post("/claims/upload", files={"video": ("clip.mp4", video)}).json()["claim_id"]
        whole = http.get(f"/claims/{claim_id}/video")
        assert whole.status_code == 200 and whole.content == video
        assert whole.headers["accept-ranges"] == "bytes" and whole.headers["content-type"] == "video/mp4"
        etag = whole.headers["etag"]

        part = http.get(f"/claims/{claim_id}/video", headers={"Range": "bytes=100-1123"})
        assert part.status_code == 206 and part.content == video[100:1124]
        assert part.headers["content-range"] == f"bytes 100-1123/{len(video)}"
        tail = http.get(f"/claims/{claim_id}/video", headers={"Range": "bytes=-10"})
        assert tail.status_code == 206 and tail.content == video[-10:]

        past = http.get(f"/claims/{claim_id}/video", headers={"Range": f"bytes={len(video)}-"})
        assert past.status_code == 416 and past.headers["content-range"] == f"bytes */{len(video)}"
        assert past.headers["content-type"].startswith("application/problem+json")

        stale = http.get(f"/claims/{claim_id}/video", headers={"Range": "bytes=0-9", "If-Range": '"old"'})
        assert stale.status_code == 200 and len(stale.content) == len(video)
        fresh = http.get(f"/claims/{claim_id}/video", headers={"Range": "bytes=0-9", "If-Range": etag})
        assert fresh.status_code == 206 and fresh.content == video[:10]
