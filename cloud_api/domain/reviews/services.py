"""The review queue and human decisions.

Queue: assessed claims without a final decision, URGENT > STANDARD > LOW_PRIORITY, then oldest first,
read through ``claims.review_rank`` (kept by database triggers, see migration cloud_0005).
APPROVE and REJECT make the claim REVIEWED; REQUEST_MORE_INFO is recorded and audited but leaves the
claim ASSESSED, so it stays in the queue until someone decides it for good. A REVIEWED claim may be
decided again (a correction); each decision is its own review row and audit entry.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from piccolo.query.functions.aggregate import Count

from cloud_api.db.engine import write_transaction
from cloud_api.db.helpers import as_datetime, to_json, utcnow
from cloud_api.domain.assessments.priority import PRIORITY_RANK
from cloud_api.domain.assessments.tables import Assessment
from cloud_api.domain.audit.schemas import ActorType
from cloud_api.domain.audit.services import AuditService
from cloud_api.domain.claims.tables import Claim
from cloud_api.domain.errors import ConflictError, NotFoundError
from cloud_api.domain.reviews.coverage import label_in_set, prediction_set
from cloud_api.domain.reviews.schemas import DecisionIn, DecisionOut, QueueItem, ReviewQueue
from cloud_api.domain.reviews.tables import Review
from shared_models import ClaimStatus, Decision, ReviewPriority

log = logging.getLogger(__name__)

_DECIDABLE = {ClaimStatus.ASSESSED.value, ClaimStatus.REVIEWED.value}


_QUEUE_PAGE = """
    SELECT c.id AS claim_id, c.claim_number, c.received_at, c.device_id, a.review_priority, a.severity,
           a.confidence, a.fraud_risk_score, a.body
    FROM (
        SELECT id, claim_number, received_at, device_id, review_rank FROM claims
        WHERE review_rank IS NOT NULL {rank_filter}
        ORDER BY review_rank, received_at, id LIMIT {{}} OFFSET {{}}
    ) c JOIN assessments a ON a.claim_id = c.id
    ORDER BY c.review_rank, c.received_at, c.id
"""
"""The page: the partial index ix_claims_review_queue gives the order and the page; only the page's
claims are joined to their assessments (a join before OFFSET would fetch every skipped assessment too)."""


class ReviewService:
    def __init__(self, audit: AuditService) -> None:
        self.audit = audit

    async def queue(self, priority: ReviewPriority | None, limit: int, offset: int) -> ReviewQueue:
        """One page of the queue and its total, read concurrently: an index range over the waiting claims
        joined to their assessments by key, and a count of that same small index."""
        rank = None if priority is None else PRIORITY_RANK[priority]
        waiting = Claim.review_rank.is_not_null()
        if rank is not None:
            waiting = waiting & (Claim.review_rank == rank)
        page_sql = _QUEUE_PAGE.format(rank_filter="" if rank is None else "AND review_rank = {}")
        args = ([] if rank is None else [rank]) + [limit, offset]
        rows, total = await asyncio.gather(
            Claim.raw(page_sql, *args).run(), Claim.count().where(waiting).run()
        )
        items = [
            QueueItem(
                claim_id=r["claim_id"],
                claim_number=r["claim_number"],
                review_priority=r["review_priority"],
                severity=r["severity"],
                confidence=r["confidence"],
                fraud_risk_score=r["fraud_risk_score"],
                prediction_set=prediction_set(r["body"]),
                received_at=as_datetime(r["received_at"]),
                device_id=r["device_id"],
            )
            for r in rows
        ]
        return ReviewQueue(items=items, total=total, limit=limit, offset=offset)

    async def depth_by_priority(self) -> dict[str, int]:
        rows = (
            await Claim.select(Claim.review_rank, Count(alias="n"))
            .where(Claim.review_rank.is_not_null())
            .group_by(Claim.review_rank)
            .run()
        )
        by_rank = {row["review_rank"]: row["n"] for row in rows}
        return {p.value: by_rank.get(rank, 0) for p, rank in PRIORITY_RANK.items()}

    async def decide(self, claim_id: str, data: DecisionIn, default_reviewer: str) -> DecisionOut:
        reviewer = data.reviewer_id or default_reviewer
        overrides = {
            "severity": data.severity_override,
            "fault_ratio": data.fault_ratio_override,
            "fraud": data.fraud_override,
        }
        now = utcnow()
        async with write_transaction():
            claim = await Claim.select(Claim.status).where(Claim.id == claim_id).first().run()
            if claim is None:
                raise NotFoundError(f"claim {claim_id} does not exist")
            if claim["status"] not in _DECIDABLE:
                raise ConflictError(
                    f"claim {claim_id} is {claim['status']}: only assessed claims can be decided"
                )
            assessment = (
                await Assessment.select(
                    Assessment.severity, Assessment.fault_ratio, Assessment.fraud_risk_score, Assessment.body
                )
                .where(Assessment.claim_id == claim_id)
                .first()
                .run()
            )
            body = assessment.pop("body")
            status = (
                ClaimStatus.ASSESSED if data.decision is Decision.REQUEST_MORE_INFO else ClaimStatus.REVIEWED
            )
            final = status is ClaimStatus.REVIEWED
            review = Review(
                claim_id=claim_id,
                decision=data.decision.value,
                reviewer_id=reviewer,
                reasoning=data.reasoning,
                overrides=to_json(overrides),
                created_at=now,
                label_in_set=label_in_set(overrides, assessment["severity"], body) if final else None,
            )
            await review.save().run()
            await Claim.update({Claim.status: status.value, Claim.updated_at: now}).where(
                Claim.id == claim_id
            ).run()
            before: dict[str, Any] = {"status": claim["status"], "assessment": assessment}
            after = {
                "status": status,
                "decision": data.decision,
                "reasoning": data.reasoning,
                "overrides": overrides,
            }
            await self.audit.log_action(
                "reviewed", ActorType.HUMAN, reviewer, claim_id=claim_id, before=before, after=after
            )
        log.info("review.decided claim=%s decision=%s reviewer=%s", claim_id, data.decision, reviewer)
        return DecisionOut(
            review_id=review.id,
            claim_id=claim_id,
            decision=data.decision,
            reviewer_id=reviewer,
            status=status,
            created_at=now,
        )
