"""Database-derived figures for /metrics: lean aggregate queries, each one indexed or bounded in time.

Times differ by engine (SQLite keeps ISO text, PostgreSQL timestamptz), so the one raw aggregate that
subtracts them has a form per engine; everything else is plain Piccolo.
"""

from __future__ import annotations

from datetime import timedelta

import msgspec
from piccolo.query.functions.aggregate import Avg, Count

from cloud_api.db.engine import is_sqlite
from cloud_api.db.helpers import utcnow
from cloud_api.domain.assessments.tables import Assessment
from cloud_api.domain.reviews.tables import Review

FRAUD_THRESHOLD = 0.7
"""Risk score from which an assessment counts as likely fraud (the same bound that makes it URGENT)."""

_REVIEW_SECONDS = {
    # Mean seconds from the AI's assessment to the first human decision on the claim.
    "sqlite": """
        SELECT AVG((julianday(r.first_at) - julianday(a.created_at)) * 86400.0) AS seconds, COUNT(*) AS n
        FROM (SELECT claim_id, MIN(created_at) AS first_at FROM reviews GROUP BY claim_id) r
        JOIN assessments a ON a.claim_id = r.claim_id
    """,
    "postgres": """
        SELECT AVG(EXTRACT(EPOCH FROM (r.first_at - a.created_at)))::float8 AS seconds, COUNT(*) AS n
        FROM (SELECT claim_id, MIN(created_at) AS first_at FROM reviews GROUP BY claim_id) r
        JOIN assessments a ON a.claim_id = r.claim_id
    """,
}


class AssessmentStats(msgspec.Struct, kw_only=True):
    total: int
    last_hour: int
    mean_confidence: float | None
    likely_fraud: int


class ReviewStats(msgspec.Struct, kw_only=True):
    decisions: dict[str, int]
    """Decisions recorded, by kind (every decision, corrections included)."""
    reviewed_claims: int
    mean_review_seconds: float | None


async def assessment_stats() -> AssessmentStats:
    since = utcnow() - timedelta(hours=1)
    row = (await Assessment.select(Count(alias="n"), Avg(Assessment.confidence, alias="conf")).run())[0]
    return AssessmentStats(
        total=row["n"],
        last_hour=await Assessment.count().where(Assessment.created_at >= since).run(),
        mean_confidence=None if row["conf"] is None else float(row["conf"]),
        likely_fraud=await Assessment.count().where(Assessment.fraud_risk_score >= FRAUD_THRESHOLD).run(),
    )


async def review_stats() -> ReviewStats:
    rows = await Review.select(Review.decision, Count(alias="n")).group_by(Review.decision).run()
    timing = (await Review.raw(_REVIEW_SECONDS["sqlite" if is_sqlite() else "postgres"]).run())[0]
    return ReviewStats(
        decisions={row["decision"]: row["n"] for row in rows},
        reviewed_claims=timing["n"],
        mean_review_seconds=None if timing["seconds"] is None else float(timing["seconds"]),
    )
