from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, MultipartBody, Parameter
from litestar.response import File

from cloud_api.domain.apikeys.guards import current_key, requires_api_key
from cloud_api.domain.claims.schemas import ClaimList, ClaimStatusOut, UploadForm, UploadResult
from cloud_api.domain.claims.services import ClaimService
from shared_models import ClaimStatus


def _not_found(claim_id: str) -> NotFoundException:
    return NotFoundException(f"claim {claim_id} does not exist")


class ClaimController(Controller):
    path = "/claims"
    tags = ["claims"]
    guards = [requires_api_key]

    @post("/upload", status_code=202)
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

    @get("/")
    async def list_claims(
        self,
        claims: NamedDependency[ClaimService],
        limit: int = Parameter(default=50, ge=1, le=500),
        offset: int = Parameter(default=0, ge=0),
        status: FromQuery[ClaimStatus | None] = None,
    ) -> ClaimList:
        """Claims, newest first."""
        return await claims.list(limit=limit, offset=offset, status=status)

    @get("/{claim_id:str}/status")
    async def status(self, claim_id: FromPath[str], claims: NamedDependency[ClaimService]) -> ClaimStatusOut:
        """Processing status and progress of one claim."""
        if (claim := await claims.get(claim_id)) is None:
            raise _not_found(claim_id)
        return claim

    @get("/{claim_id:str}/video")
    async def video(self, claim_id: FromPath[str], claims: NamedDependency[ClaimService]) -> File:
        """The claim's clip as stored (content-addressed, byte for byte what was received)."""
        if (found := await claims.video(claim_id)) is None:
            raise _not_found(claim_id)
        path, media_type = found
        return File(path=path, media_type=media_type, content_disposition_type="inline")
