"""Request limits: only the upload route may take MAX_UPLOAD_SIZE_MB, JSON bodies stay small, and
numbers and text stay inside what the databases can store."""

from __future__ import annotations

from litestar import Request
from litestar.exceptions import ValidationException

JSON_BODY_LIMIT = 64 * 1024
"""Bytes a JSON request body may have (a decision's reasoning is at most 10,000 characters)."""
MULTIPART_OVERHEAD = 1024 * 1024
"""Room for the multipart envelope and the form's other fields around the video itself."""
MAX_OFFSET = 1_000_000_000
"""Largest page offset a list accepts: beyond it a database integer would overflow (a 500, not a 422)."""
MAX_ID = 2**31 - 1
"""Largest integer id a path accepts (the database's INTEGER)."""


async def refuse_nul(request: Request) -> None:
    """PostgreSQL text cannot hold NUL: a path or query value with one is a 422 here, not a 500 there.

    Async on purpose: Litestar runs a sync ``before_request`` hook in a worker thread, a thread hand-off
    on every request for a few string checks.
    """
    values = [str(v) for v in request.path_params.values()]
    values += [v for _, v in request.query_params.multi_items()]
    if any("\x00" in v for v in values):
        raise ValidationException("path and query values must not contain NUL characters")
