"""``InsuranceAPIClient``: the original API's Python client, for this API.

Its usage example runs unchanged but for the import line::

    from cloud_api.client import InsuranceAPIClient

    client = InsuranceAPIClient("http://localhost:8000", "ins_your_api_key")
    claim_id = client.upload_video("dashcam.mp4", claim_number="CLM-001")
    assessment = client.wait_for_assessment(claim_id, timeout=120)

Answers are the API's JSON as dicts. Errors raise ``APIError`` carrying the problem details; a 429 is
retried after its Retry-After (a few times), everything else is raised at once. Uploads stream from
the file, so a large video is never held in memory.
"""

from __future__ import annotations

import time
from os import PathLike
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

_TERMINAL = {"ASSESSED", "REVIEWED", "FAILED"}


class APIError(Exception):
    """An error answer: ``status``, and the problem details' ``title`` / ``detail`` / full ``body``."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status = status
        self.body = body
        self.title = str(body.get("title", ""))
        self.detail = str(body.get("detail", ""))
        super().__init__(f"{status} {self.title}: {self.detail}")


class AssessmentFailed(APIError):
    """The claim's assessment failed for good; ``body`` is its status (with ``error``)."""


class InsuranceAPIClient:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        timeout: float = 60.0,
        max_retries: int = 3,
        http: httpx.Client | None = None,
    ) -> None:
        """``http`` replaces the HTTP client (a proxy, custom TLS, a test transport)."""
        self.max_retries = max_retries
        self._http = http or httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout)
        self._headers = {"X-API-Key": api_key}

    def __enter__(self) -> InsuranceAPIClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        for attempt in range(self.max_retries + 1):
            response = self._http.request(method, path, headers=self._headers, **kwargs)
            if response.status_code != 429 or attempt == self.max_retries or "files" in kwargs:
                break
            time.sleep(float(response.headers.get("Retry-After", "1")))
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {"title": response.reason_phrase, "detail": response.text[:500]}
            raise APIError(response.status_code, body)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._request(method, path, **kwargs).json()

    def upload_video(self, video_path: str | PathLike[str], claim_number: str | None = None) -> str:
        """Upload a dashcam video; returns the claim id (the existing claim's for bytes sent before)."""
        return str(self.upload(video_path, claim_number)["claim_id"])

    def upload(self, video_path: str | PathLike[str], claim_number: str | None = None) -> dict[str, Any]:
        """The full upload answer (``duplicate`` says whether these bytes were a claim already)."""
        path = Path(video_path)
        data = {"claim_number": claim_number} if claim_number else {}
        with path.open("rb") as fh:
            return self._json("POST", "/claims/upload", files={"video": (path.name, fh)}, data=data)

    def get_status(self, claim_id: str) -> dict[str, Any]:
        return self._json("GET", f"/claims/{claim_id}/status")

    def get_assessment(self, claim_id: str) -> dict[str, Any]:
        return self._json("GET", f"/claims/{claim_id}/assessment")

    def wait_for_assessment(
        self, claim_id: str, timeout: float = 300, poll_interval: float = 1.0
    ) -> dict[str, Any]:
        """Poll the status until the claim is assessed, then return the assessment.

        Raises AssessmentFailed when it failed for good, TimeoutError after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            status = self.get_status(claim_id)
            if status["status"] == "FAILED":
                raise AssessmentFailed(
                    409, {**status, "title": "Assessment failed", "detail": status["error"]}
                )
            if status["status"] in _TERMINAL:
                return self.get_assessment(claim_id)
            if time.monotonic() >= deadline:
                raise TimeoutError(f"claim {claim_id} is still {status['status']} after {timeout}s")
            time.sleep(min(poll_interval, max(0.0, deadline - time.monotonic())))

    def get_queue(self, priority: str | None = None, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        """The review queue: ``items`` by priority then age, with ``total`` for paging."""
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if priority:
            params["priority"] = priority
        return self._json("GET", "/reviews/queue", params=params)

    def submit_decision(
        self,
        claim_id: str,
        decision: str,
        reasoning: str,
        reviewer_id: str | None = None,
        severity_override: str | None = None,
        fault_ratio_override: float | None = None,
        fraud_override: bool | None = None,
    ) -> dict[str, Any]:
        """APPROVE, REJECT or REQUEST_MORE_INFO, with optional overrides; audited."""
        body = {
            "decision": decision,
            "reasoning": reasoning,
            "reviewer_id": reviewer_id,
            "severity_override": severity_override,
            "fault_ratio_override": fault_ratio_override,
            "fraud_override": fraud_override,
        }
        return self._json(
            "POST", f"/reviews/{claim_id}/decision", json={k: v for k, v in body.items() if v is not None}
        )

    def get_history(self, claim_id: str) -> dict[str, Any]:
        """The claim's audit trail: ``events`` with before / after states, actor and chain hash."""
        return self._json("GET", f"/reviews/{claim_id}/history")

    def list_claims(self, status: str | None = None, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if status:
            params["status"] = status
        return self._json("GET", "/claims", params=params)

    def download_video(self, claim_id: str, dest: str | PathLike[str]) -> Path:
        """Stream the claim's clip to ``dest``."""
        out = Path(dest)
        with self._http.stream("GET", f"/claims/{claim_id}/video", headers=self._headers) as response:
            if response.status_code >= 400:
                response.read()
                raise APIError(response.status_code, response.json())
            with out.open("wb") as fh:
                for chunk in response.iter_bytes():
                    fh.write(chunk)
        return out

    def verify_audit(self) -> dict[str, Any]:
        return self._json("GET", "/audit/verify")

    def health(self) -> dict[str, Any]:
        """No key needed; 503 (degraded) is returned, not raised."""
        return self._http.get("/health").json()

    def metrics(self) -> str:
        return self._request("GET", "/metrics").text
