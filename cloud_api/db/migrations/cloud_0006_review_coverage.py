"""``reviews.label_in_set``: whether a final review's severity fell in the AI's prediction set.

Stored at decision time so the conformal coverage in /metrics is one aggregate over the reviews instead
of decoding every reviewed assessment per scrape. Reviews written before this migration are filled in
here, by the same rule the service applies (``cloud_api.domain.reviews.coverage.label_in_set``).
"""

from typing import Any

import msgspec
from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.querystring import QueryString

from cloud_api.domain.reviews.coverage import label_in_set

ID = "2026-12-02T02:30:06:000000"
VERSION = "1.38.0"
DESCRIPTION = "reviews.label_in_set: a final review's severity was in the prediction set"

_BATCH = 2000  # ids per UPDATE, well under SQLite's and PostgreSQL's bind-parameter limits
_EXISTING = """
    SELECT r.id, r.overrides, a.severity, a.body FROM reviews r JOIN assessments a ON a.claim_id = r.claim_id
    WHERE r.decision IN ('APPROVE', 'REJECT')
"""


def _decoded(value: Any) -> Any:
    return msgspec.json.decode(value) if isinstance(value, (str, bytes)) else value


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="cloud", description=DESCRIPTION)

    async def apply() -> None:
        engine = engine_finder()  # the engine the migration's transaction runs on
        await engine.run_ddl("ALTER TABLE reviews ADD COLUMN label_in_set BOOLEAN")
        rows = await engine.run_querystring(QueryString(_EXISTING))
        verdicts: dict[bool, list[int]] = {True: [], False: []}
        for row in rows:
            verdicts[label_in_set(_decoded(row["overrides"]), row["severity"], row["body"])].append(row["id"])
        for verdict, ids in verdicts.items():
            for i in range(0, len(ids), _BATCH):
                batch = ids[i : i + _BATCH]
                marks = ", ".join("{}" for _ in batch)
                sql = f"UPDATE reviews SET label_in_set = {{}} WHERE id IN ({marks})"
                await engine.run_querystring(QueryString(sql, verdict, *batch))

    async def revert() -> None:
        await engine_finder().run_ddl("ALTER TABLE reviews DROP COLUMN label_in_set")

    manager.add_raw(apply)
    manager.add_raw_backwards(revert)
    return manager
