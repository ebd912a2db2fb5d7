"""Serving a file with HTTP range requests (RFC 9110 section 14), so review pages can seek in a clip.

One range per request (what browsers' media elements send); a multi-range request gets the whole file
with 200, which the RFC allows. Bytes are read in chunks off the event loop, never the whole file.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
from litestar import Request
from litestar.exceptions import HTTPException
from litestar.response import Stream

_CHUNK = 256 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeNotSatisfiable(HTTPException):
    status_code = 416


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) byte, inclusive, of a single ``bytes=`` range; None: serve the whole file.

    Raises RangeNotSatisfiable for a range that starts past the end or is malformed as a range.
    """
    if not header or "," in header:
        return None
    match = _RANGE.match(header.strip().replace(" ", ""))
    if match is None or match.groups() == ("", ""):
        raise RangeNotSatisfiable(
            detail=f"unsupported Range {header[:80]!r}", headers={"Content-Range": f"bytes */{size}"}
        )
    first, last = match.groups()
    if first == "":  # suffix: the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            raise RangeNotSatisfiable(
                detail="empty suffix range", headers={"Content-Range": f"bytes */{size}"}
            )
        return max(0, size - length), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        raise RangeNotSatisfiable(
            detail=f"range {header[:80]!r} is outside the {size} bytes",
            headers={"Content-Range": f"bytes */{size}"},
        )
    return start, end


async def _read(path: Path, start: int, length: int) -> AsyncIterator[bytes]:
    async with await anyio.open_file(path, "rb") as fh:
        await fh.seek(start)
        while length > 0:
            chunk = await fh.read(min(_CHUNK, length))
            if not chunk:
                return
            length -= len(chunk)
            yield chunk


def ranged_file(request: Request, path: Path, media_type: str, etag: str) -> Stream:
    """200 with the whole file or 206 with the requested range; ``etag`` names the content."""
    size = path.stat().st_size
    headers = {"Accept-Ranges": "bytes", "ETag": f'"{etag}"', "Cache-Control": "private, max-age=3600"}
    if_range = request.headers.get("if-range")
    wanted = parse_range(request.headers.get("range"), size) if if_range in (None, f'"{etag}"') else None
    if wanted is None:
        headers["Content-Length"] = str(size)
        return Stream(_read(path, 0, size), media_type=media_type, headers=headers)
    start, end = wanted
    headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Length"] = str(end - start + 1)
    return Stream(
        _read(path, start, end - start + 1), status_code=206, media_type=media_type, headers=headers
    )
