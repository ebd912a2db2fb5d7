from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from cloud_api.domain.apikeys.guards import requires_api_key
from cloud_api.domain.audit.schemas import AuditHistory, AuditVerification
from cloud_api.domain.audit.services import AuditService
from cloud_api.domain.claims.services import ClaimService
from cloud_api.domain.errors import NotFoundError


class AuditController(Controller):
    tags = ["audit"]
    guards = [requires_api_key]

    @get("/reviews/{claim_id:str}/history")
    async def history(
        self,
        claim_id: FromPath[str],
        audit: NamedDependency[AuditService],
        claims: NamedDependency[ClaimService],
    ) -> AuditHistory:
        """Every audited change of one claim, oldest first, with each entry's chain hash."""
        if await claims.get(claim_id) is None:
            raise NotFoundError(f"claim {claim_id} does not exist")
        return AuditHistory(claim_id=claim_id, events=await audit.history(claim_id))

    @get("/audit/verify")
    async def verify(self, audit: NamedDependency[AuditService]) -> AuditVerification:
        """Recompute the whole hash chain; ``first_broken`` names the first entry that was altered."""
        return await audit.verify()
