from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, MultipartBody, Parameter
from litestar.response import Stream

from cloud_api.domain.apikeys.guards import current_key, requires_api_key
from cloud_api.domain.claims.schemas import ClaimFilter, ClaimList, ClaimStatusOut, UploadForm, UploadResult
from cloud_api.domain.claims.services import ClaimService
from cloud_api.server import openapi_docs as docs
from cloud_api.server.limits import MAX_OFFSET
from cloud_api.server.ranges import ranged_file
from shared_models import ClaimStatus

ACCEPT_RANGES = ResponseHeader(
    name="Accept-Ranges", value="bytes", description="Byte ranges are served (206).", documentation_only=True
)


def _not_found(claim_id: str) -> NotFoundException:
    return NotFoundException(f"claim {claim_id} does not exist")


class ClaimController(Controller):
    path = "/claims"
    tags = ["claims"]
    guards = [requires_api_key]

    @post(
        "/upload",
        status_code=202,
        responses={
            **docs.ok(UploadResult, "A new claim, queued for assessment", docs.UPLOAD_RESULT, 202),
            **docs.ok(
                UploadResult,
                "These bytes were claimed before: that claim",
                {
                    **docs.UPLOAD_RESULT,
                    "duplicate": True,
                    "status": "ASSESSED",
                    "message": f"these bytes are already claim {docs.CLAIM_ID}",
                },
            ),
            **docs.problems(400, 413, 415, 422),
        },
    )
    async def upload(
        self,
        request: Request,
        claims: NamedDependency[ClaimService],
        data: MultipartBody[UploadForm],
    ) -> Response[UploadResult]:
        """Upload a dashcam video (field ``video``) for assessment.

        202 with a new claim; 200 with the existing claim when these exact bytes (sha256) were claimed
        before. 413 above MAX_UPLOAD_SIZE_MB, 415 when it is no video, 422 when its frames do not decode.
        """
        try:
            result = await claims.upload(
                data.video.file,
                data.video.filename,
                data.claim_number,
                f"apikey:{current_key(request).prefix}",
            )
        finally:
            await data.video.close()
        return Response(result, status_code=200 if result.duplicate else 202)

    @get(
        "/",
        responses={
            **docs.ok(
                ClaimList,
                "A page of claims",
                {"items": [docs.CLAIM_STATUS], "total": 1, "limit": 50, "offset": 0},
            ),
            **docs.problems(422),
        },
    )
    async def list_claims(
        self,
        claims: NamedDependency[ClaimService],
        limit: int = Parameter(default=50, ge=1, le=500),
        offset: int = Parameter(default=0, ge=0, le=MAX_OFFSET),
        status: FromQuery[ClaimStatus | None] = None,
        claim_number: Annotated[str | None, Parameter(max_length=64)] = None,
        device_id: Annotated[str | None, Parameter(max_length=64)] = None,
        source: FromQuery[Literal["device", "upload"] | None] = None,
    ) -> ClaimList:
        """Claims, newest first; filter by status, claim number, device or source (all must match)."""
        filters = ClaimFilter(status=status, claim_number=claim_number, device_id=device_id, source=source)
        return await claims.list(limit=limit, offset=offset, filters=filters)

    @get(
        "/{claim_id:str}/status",
        responses={**docs.ok(ClaimStatusOut, "An assessed claim", docs.CLAIM_STATUS), **docs.problems(404)},
    )
    async def status(self, claim_id: FromPath[str], claims: NamedDependency[ClaimService]) -> ClaimStatusOut:
        """Processing status and progress of one claim."""
        if (claim := await claims.get(claim_id)) is None:
            raise _not_found(claim_id)
        return claim

    @get(
        "/{claim_id:str}/video",
        response_headers=[ACCEPT_RANGES],
        media_type="video/mp4",
        responses=docs.problems(404, 416),
    )
    async def video(
        self, request: Request, claim_id: FromPath[str], claims: NamedDependency[ClaimService]
    ) -> Stream:
        """The claim's clip, byte for byte as received; HTTP ranges (206) so players can seek.

        ``Range: bytes=START-END`` gives 206 with ``Content-Range``; a range past the end gives 416.
        The ETag is the clip's sha256.
        """
        if (clip := await claims.video(claim_id)) is None:
            raise _not_found(claim_id)
        return ranged_file(request, clip.path, clip.media_type, clip.sha256)
