"""Examples and error responses for the OpenAPI document (Swagger UI at /docs, ReDoc at /redoc).

Each route names its success example here; every guarded route also lists the problem-details answers
it can give, so a client author sees the error shapes without reading the code.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example

CLAIM_ID = "6f1c2a4e-8b0d-4c1e-9a57-3d2b1f0e9c88"
NOW = "2026-11-27T14:03:12.481Z"


class Problem(msgspec.Struct, kw_only=True):
    """RFC 9457 problem details: every 4xx / 5xx answer of this API."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] | None = None
    """Validation failures (422): one entry per field."""


_PROBLEMS = {
    400: "Malformed request (e.g. a broken multipart body)",
    401: "An API key is required (X-API-Key or Authorization: Bearer)",
    403: "This API key lacks the 'write' scope",
    404: f"claim {CLAIM_ID} does not exist",
    409: f"claim {CLAIM_ID} is PROCESSING: no assessment yet",
    413: "video is larger than 500 MB",
    415: "the upload is not a decodable video (not_video): no video stream",
    416: "range 'bytes=99999999-' is outside the 48213 bytes",
    422: "Validation failed for POST /reviews/{claim_id}/decision",
    429: "Rate limit exceeded: retry after the Retry-After seconds",
}


def problems(*codes: int) -> dict[int, ResponseSpec]:
    """Problem-details responses for ``codes`` (401, 403 and 429 are added: every guarded route has them)."""
    out = {}
    for code in sorted({*codes, 401, 403, 429}):
        example = {"type": "about:blank", "title": _title(code), "status": code, "detail": _PROBLEMS[code]}
        out[code] = ResponseSpec(
            data_container=Problem,
            description=_PROBLEMS[code],
            media_type="application/problem+json",
            examples=[Example(summary=_title(code), value=example)],
        )
    return out


def _title(code: int) -> str:
    from http import HTTPStatus

    return HTTPStatus(code).phrase


def ok(container: Any, summary: str, value: Any, status: int = 200) -> dict[int, ResponseSpec]:
    return {
        status: ResponseSpec(
            data_container=container, description=summary, examples=[Example(summary=summary, value=value)]
        )
    }


CLAIM_STATUS = {
    "claim_id": CLAIM_ID,
    "claim_number": "CLM-2026-001234",
    "status": "ASSESSED",
    "progress_percent": 100,
    "error": None,
    "source": "upload",
    "device_id": None,
    "incident_id": None,
    "video_sha256": "9f2c1e5b7a0d4c3e8b6a1f2d3c4b5a69788766554433221100ffeeddccbbaa99",
    "size_bytes": 48213,
    "received_at": NOW,
    "updated_at": NOW,
}
UPLOAD_RESULT = {
    "claim_id": CLAIM_ID,
    "claim_number": "CLM-2026-001234",
    "status": "QUEUED",
    "message": "queued for assessment",
    "duplicate": False,
    "video_sha256": CLAIM_STATUS["video_sha256"],
    "size_bytes": 48213,
}
ASSESSMENT = {
    "claim_id": CLAIM_ID,
    "severity": "MEDIUM",
    "confidence": 0.71,
    "prediction_set": ["MEDIUM", "HIGH"],
    "review_priority": "URGENT",
    "fault_assessment": {
        "fault_ratio": 100.0,
        "rule": "rear-end: the following vehicle is at fault",
        "confidence": 0.8,
        "reasoning": "the ego vehicle closed on a braking vehicle ahead",
    },
    "fraud_risk_score": 0.05,
    "fraud_reasons": [],
    "hazards": ["vehicle ahead braking"],
    "evidence": [{"t_s": 10.4, "what": "impact: motion jolt and audio peak"}],
    "narrative": "The dashcam vehicle runs into the back of a car braking ahead at low speed.",
    "scenario": "rear_end",
    "processing_time_sec": 3.2,
    "model": "scene-onnx-1",
    "severity_probabilities": {"NONE": 0.02, "LOW": 0.12, "MEDIUM": 0.71, "HIGH": 0.15},
    "coverage_target": 0.9,
    "calibrated": True,
    "review_flags": [],
}
QUEUE = {
    "items": [
        {
            "claim_id": CLAIM_ID,
            "claim_number": "CLM-2026-001234",
            "review_priority": "URGENT",
            "severity": "MEDIUM",
            "confidence": 0.71,
            "fraud_risk_score": 0.05,
            "prediction_set": ["MEDIUM", "HIGH"],
            "received_at": NOW,
            "device_id": "van-0042",
        }
    ],
    "total": 1,
    "limit": 50,
    "offset": 0,
}
DECISION_IN = {
    "decision": "APPROVE",
    "reasoning": "Clear rear-end collision; the footage matches the report.",
    "reviewer_id": "reviewer_alice",
    "severity_override": "HIGH",
    "fault_ratio_override": 80,
}
DECISION_OUT = {
    "review_id": 17,
    "claim_id": CLAIM_ID,
    "decision": "APPROVE",
    "reviewer_id": "reviewer_alice",
    "status": "REVIEWED",
    "created_at": NOW,
}
HISTORY = {
    "claim_id": CLAIM_ID,
    "events": [
        {
            "seq": 41,
            "event_type": "received",
            "actor_type": "SYSTEM",
            "actor_id": "apikey:insurer-batch:dck_Xq3v9aB",
            "before_state": None,
            "after_state": {"status": "QUEUED"},
            "timestamp": NOW,
            "hash": "3b7e0c1d" + "0" * 56,
        },
        {
            "seq": 44,
            "event_type": "reviewed",
            "actor_type": "HUMAN",
            "actor_id": "reviewer_alice",
            "before_state": {"status": "ASSESSED"},
            "after_state": {"status": "REVIEWED", "decision": "APPROVE", "overrides": {"severity": "HIGH"}},
            "timestamp": NOW,
            "hash": "a41f9e27" + "0" * 56,
        },
    ],
}
VERIFY = {
    "ok": True,
    "entries": 1289,
    "first_broken": None,
    "reason": None,
    "head_seq": 1289,
    "head_hash": "c0ffee12" + "0" * 56,
    "anchor_ok": None,
}
KEY_CREATED = {
    "key": "dck_Xq3v9aB1hK2mN4pQ6rS8tU0vW2xY4zA6bC8dE0fG2h",
    "id": 7,
    "name": "insurer-batch",
    "prefix": "dck_Xq3v9aB",
    "scopes": ["read", "write"],
}
KEY = {
    "id": 7,
    "name": "insurer-batch",
    "prefix": "dck_Xq3v9aB",
    "scopes": ["read", "write"],
    "created_at": NOW,
    "revoked_at": None,
}
