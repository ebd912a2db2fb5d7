"""One error format for every 4xx / 5xx: RFC 9457 problem details (``application/problem+json``).

Domain errors map to their status here, so controllers and services stay free of HTTP. Internal error
details (exception text) are shown only with DEV_MODE.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from cloud_api.domain.claims.uploads import UploadTooLarge
from cloud_api.domain.devices.services import DeviceError
from cloud_api.domain.errors import ConflictError, NotFoundError
from cloud_api.video import VideoError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


def problem(
    status: int, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> Response[dict[str, Any]]:
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        **extra,
    }
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _dev_mode(request: Request) -> bool:
    return bool(request.app.state.runtime.settings.dev_mode)


def _retry_after(headers: dict[str, str] | None) -> dict[str, str] | None:
    """Litestar's rate limiter sends the IETF draft's RateLimit-Reset; HTTP clients honour Retry-After."""
    reset = (headers or {}).get("RateLimit-Reset")
    return {**(headers or {}), "Retry-After": str(max(1, int(reset or 60)))}


def _http(request: Request, exc: HTTPException) -> Response[dict[str, Any]]:
    if exc.status_code == 429:
        log.warning("http.rate_limited path=%s", request.url.path)
        return problem(
            429, "Rate limit exceeded: retry after the Retry-After seconds", _retry_after(exc.headers)
        )
    if exc.status_code == 413:
        _count_upload_rejection(request, "too_large")
    if exc.status_code >= 500:
        log.error("http.error status=%d path=%s detail=%s", exc.status_code, request.url.path, exc.detail)
        detail = exc.detail if _dev_mode(request) else HTTPStatus(exc.status_code).phrase
        return problem(exc.status_code, detail, exc.headers)
    return problem(exc.status_code, exc.detail, exc.headers)


def _validation(_: Request, exc: ValidationException) -> Response[dict[str, Any]]:
    """Litestar says 400 for a body or parameter that fails validation; the API promises 422."""
    extra = {"errors": exc.extra} if exc.extra else {}
    return problem(422, exc.detail, **extra)


def _count_upload_rejection(request: Request, reason: str) -> None:
    request.app.state.runtime.metrics.uploads_rejected[reason] += 1
    log.warning("upload.rejected reason=%s", reason)


def _video(request: Request, exc: VideoError) -> Response[dict[str, Any]]:
    _count_upload_rejection(request, exc.reason)
    status = 415 if exc.reason == "not_video" else 422
    return problem(status, f"the upload is not a decodable video ({exc.reason}): {exc.detail}")


def _too_large(request: Request, exc: UploadTooLarge) -> Response[dict[str, Any]]:
    _count_upload_rejection(request, "too_large")
    return problem(413, str(exc))


def _status(status: int) -> Any:
    def handler(_: Request, exc: Exception) -> Response[dict[str, Any]]:
        return problem(status, str(exc))

    return handler


def _internal(request: Request, exc: Exception) -> Response[dict[str, Any]]:
    log.exception("http.unhandled path=%s", request.url.path, exc_info=exc)
    detail = f"{type(exc).__name__}: {exc}" if _dev_mode(request) else "Internal server error"
    return problem(500, detail)


EXCEPTION_HANDLERS: dict[type[Exception], Any] = {
    HTTPException: _http,
    ValidationException: _validation,
    VideoError: _video,
    NotFoundError: _status(404),
    ConflictError: _status(409),
    UploadTooLarge: _too_large,
    DeviceError: _status(400),
    Exception: _internal,
}
