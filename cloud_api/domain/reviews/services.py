"""The review queue and human decisions.

Queue: assessed claims without a final decision, URGENT > STANDARD > LOW_PRIORITY, then oldest first.
APPROVE and REJECT make the claim REVIEWED; REQUEST_MORE_INFO is recorded and audited but leaves the
claim ASSESSED, so it stays in the queue until someone decides it for good. A REVIEWED claim may be
decided again (a correction); each decision is its own review row and audit entry.
"""

from __future__ import annotations

import logging
from typing import Any

from cloud_api.db.engine import write_transaction
from cloud_api.db.helpers import from_json, to_json, utcnow
from cloud_api.domain.assessments.tables import Assessment
from cloud_api.domain.audit.schemas import ActorType
from cloud_api.domain.audit.services import AuditService
from cloud_api.domain.claims.tables import Claim
from cloud_api.domain.errors import ConflictError, NotFoundError
from cloud_api.domain.reviews.schemas import DecisionIn, DecisionOut, QueueItem, ReviewQueue
from cloud_api.domain.reviews.tables import Review
from shared_models import ClaimStatus, Decision, ReviewPriority

log = logging.getLogger(__name__)

_DECIDABLE = {ClaimStatus.ASSESSED.value, ClaimStatus.REVIEWED.value}


class ReviewService:
    def __init__(self, audit: AuditService) -> None:
        self.audit = audit

    async def queue(self, priority: ReviewPriority | None, limit: int, offset: int) -> ReviewQueue:
        waiting = Assessment.claim_id.status == ClaimStatus.ASSESSED.value
        if priority is not None:
            waiting = waiting & (Assessment.review_priority == priority.value)
        rows = (
            await Assessment.select(
                Assessment.claim_id.id.as_alias("claim_id"),
                Assessment.claim_id.claim_number.as_alias("claim_number"),
                Assessment.claim_id.received_at.as_alias("received_at"),
                Assessment.claim_id.device_id.as_alias("device_id"),
                Assessment.review_priority,
                Assessment.severity,
                Assessment.confidence,
                Assessment.fraud_risk_score,
                Assessment.body,
            )
            .where(waiting)
            .order_by(Assessment.priority_rank)
            .order_by(Assessment.claim_id.received_at)
            .order_by(Assessment.id)
            .limit(limit)
            .offset(offset)
            .run()
        )
        items = [
            QueueItem(
                claim_id=r["claim_id"],
                claim_number=r["claim_number"],
                review_priority=r["review_priority"],
                severity=r["severity"],
                confidence=r["confidence"],
                fraud_risk_score=r["fraud_risk_score"],
                prediction_set=from_json(r["body"])["prediction_set"],
                received_at=r["received_at"],
                device_id=r["device_id"],
            )
            for r in rows
        ]
        total = await Assessment.count().where(waiting).run()
        return ReviewQueue(items=items, total=total, limit=limit, offset=offset)

    async def depth_by_priority(self) -> dict[str, int]:
        return {
            p.value: await Assessment.count()
            .where(
                (Assessment.claim_id.status == ClaimStatus.ASSESSED.value)
                & (Assessment.review_priority == p.value)
            )
            .run()
            for p in ReviewPriority
        }

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
                    Assessment.severity, Assessment.fault_ratio, Assessment.fraud_risk_score
                )
                .where(Assessment.claim_id == claim_id)
                .first()
                .run()
            )
            status = (
                ClaimStatus.ASSESSED if data.decision is Decision.REQUEST_MORE_INFO else ClaimStatus.REVIEWED
            )
            review = Review(
                claim_id=claim_id,
                decision=data.decision.value,
                reviewer_id=reviewer,
                reasoning=data.reasoning,
                overrides=to_json(overrides),
                created_at=now,
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
