"""Migration cloud_0006 fills ``reviews.label_in_set`` for reviews written before it, by the service's rule."""

from __future__ import annotations

import asyncio
import uuid

from cloud_api.db.engine import close_database, configure_database, open_database
from cloud_api.db.helpers import to_json
from cloud_api.db.migrate import migrate
from cloud_api.db.migrations import cloud_0005_api, cloud_0006_review_coverage
from cloud_api.domain.assessments.calibration import coverage_summary
from cloud_api.domain.reviews.tables import Review


def test_reviews_before_the_migration_get_their_verdict(database_url: str) -> None:
    async def scenario() -> tuple[dict[int, bool | None], tuple[int, int]]:
        engine = configure_database(database_url)
        await open_database(engine)
        try:
            assert cloud_0005_api.ID in await migrate(until=cloud_0005_api.ID)
            # (AI severity, prediction set, decision, override): in, out by override, in by override,
            # out by the AI's own severity, and a REQUEST_MORE_INFO that is no final review at all.
            cases = [
                ("LOW", ["LOW"], "APPROVE", None),
                ("LOW", ["LOW", "MEDIUM"], "REJECT", "HIGH"),
                ("HIGH", ["MEDIUM"], "APPROVE", "MEDIUM"),
                ("HIGH", ["MEDIUM"], "APPROVE", None),
                ("LOW", ["LOW"], "REQUEST_MORE_INFO", None),
            ]
            for severity, prediction_set, decision, override in cases:
                claim_id = str(uuid.uuid4())
                await engine.run_ddl(
                    "INSERT INTO claims (id, claim_number, source, video_key, video_sha256, size_bytes, "
                    "status, progress_percent, received_at, updated_at, metadata) VALUES "
                    f"('{claim_id}', '{claim_id[:8]}', 'upload', 'k', '{uuid.uuid4().hex}', 1, 'ASSESSED', "
                    "100, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, '{}')"
                )
                body = to_json({"prediction_set": prediction_set})
                await engine.run_ddl(
                    "INSERT INTO assessments (claim_id, severity, confidence, review_priority, priority_rank, "
                    "fraud_risk_score, fault_ratio, model, body, created_at) VALUES "
                    f"('{claim_id}', '{severity}', 0.5, 'STANDARD', 1, 0.1, 50, 't', '{body}', CURRENT_TIMESTAMP)"
                )
                overrides = to_json({"severity": override})
                await engine.run_ddl(
                    "INSERT INTO reviews (claim_id, decision, reviewer_id, reasoning, overrides, created_at) "
                    f"VALUES ('{claim_id}', '{decision}', 'r', 'x', '{overrides}', CURRENT_TIMESTAMP)"
                )
            assert await migrate() == [cloud_0006_review_coverage.ID]
            rows = await Review.select(Review.id, Review.label_in_set).order_by(Review.id).run()
            summary = await coverage_summary()
            return {r["id"]: r["label_in_set"] for r in rows}, (summary.reviewed, summary.covered)
        finally:
            await close_database(engine)

    verdicts, (reviewed, covered) = asyncio.run(scenario())
    assert [None if v is None else bool(v) for v in verdicts.values()] == [True, False, True, False, None]
    assert (reviewed, covered) == (4, 2)
