from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.exceptions import ClientException
from litestar.params import FromPath, FromQuery, Parameter

from cloud_api.domain.apikeys.guards import requires_api_key
from cloud_api.domain.audit.schemas import AuditHistory, AuditVerification
from cloud_api.domain.audit.services import AuditService
from cloud_api.domain.claims.services import ClaimService
from cloud_api.domain.errors import NotFoundError
from cloud_api.server import openapi_docs as docs


class AuditController(Controller):
    tags = ["audit"]
    guards = [requires_api_key]

    @get(
        "/reviews/{claim_id:str}/history",
        responses={**docs.ok(AuditHistory, "Received, then reviewed", docs.HISTORY), **docs.problems(404)},
    )
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

    @get(
        "/audit/verify",
        responses={**docs.ok(AuditVerification, "An intact chain", docs.VERIFY), **docs.problems(422)},
    )
    async def verify(
        self,
        audit: NamedDependency[AuditService],
        anchor_seq: FromQuery[int | None] = Parameter(default=None, ge=0, le=2**31 - 1),
        anchor_hash: FromQuery[str | None] = Parameter(default=None, pattern="^[0-9a-f]{64}$"),
    ) -> AuditVerification:
        """Recompute the whole hash chain and check it ends at the recorded head.

        ``first_broken`` names the first entry missing, altered or relinked, or the first one deleted
        from the end (``reason: truncated``). Pass a (``anchor_seq``, ``anchor_hash``) kept from an
        earlier answer to prove the log was not rewritten since (``anchor_ok``).
        """
        if (anchor_seq is None) != (anchor_hash is None):
            raise ClientException("anchor_seq and anchor_hash go together", status_code=422)
        anchor = (anchor_seq, anchor_hash) if anchor_seq is not None and anchor_hash is not None else None
        return await audit.verify(anchor)
