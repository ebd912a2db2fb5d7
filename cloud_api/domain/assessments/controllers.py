from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.exceptions import ClientException, NotFoundException
from litestar.params import FromPath

from cloud_api.domain.apikeys.guards import requires_api_key
from cloud_api.domain.assessments.schemas import AssessmentOut
from cloud_api.domain.assessments.services import AssessmentService
from cloud_api.domain.claims.services import ClaimService


class AssessmentController(Controller):
    path = "/claims"
    tags = ["assessments"]
    guards = [requires_api_key]

    @get("/{claim_id:str}/assessment")
    async def assessment(
        self,
        claim_id: FromPath[str],
        claims: NamedDependency[ClaimService],
        assessments: NamedDependency[AssessmentService],
    ) -> AssessmentOut:
        """The AI assessment: 404 for an unknown claim, 409 while it is not assessed (see its status)."""
        if (found := await assessments.get(claim_id)) is not None:
            return found
        if (claim := await claims.get(claim_id)) is None:
            raise NotFoundException(f"claim {claim_id} does not exist")
        raise ClientException(f"claim {claim_id} is {claim.status}: no assessment yet", status_code=409)
