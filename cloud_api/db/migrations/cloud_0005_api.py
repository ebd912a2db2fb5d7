"""The audit log made append-only by the database itself, and its head anchored.

- Triggers refuse UPDATE, DELETE (and on PostgreSQL TRUNCATE) on ``audit_log``: the application never
  changes an entry, so only someone bypassing it could, and they must first drop the trigger (DDL
  rights, visible in the database's own logs).
- ``audit_head`` holds one row, the (seq, hash) of the newest entry, moved forward in the same
  transaction as each append; a trigger lets it move forward one entry at a time only. The hash chain
  shows an edited or deleted entry in the middle; the head shows entries deleted from the end.
- ``claims.review_rank``: the assessment's priority rank while the claim awaits review, NULL otherwise,
  kept by triggers on both tables whoever changes them (the worker, a reviewer, a migration). With a
  partial index on (review_rank, received_at, id) the queue's page and its count read only the waiting
  claims, instead of joining every assessment ever made.
- Indexes for the insurer API's other lists at 100k+ claims.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.sqlite import SQLiteEngine

ID = "2026-11-27T22:00:05:000000"
VERSION = "1.38.0"
DESCRIPTION = "append-only audit log, anchored audit head, review queue rank and API indexes"

GENESIS_HASH = "0" * 64

_COMMON = (
    "CREATE TABLE IF NOT EXISTS audit_head (id INTEGER PRIMARY KEY, seq INTEGER NOT NULL, "
    "hash VARCHAR(64) NOT NULL)",
    "INSERT INTO audit_head (id, seq, hash) SELECT 1, COALESCE(MAX(seq), 0), COALESCE("
    f"(SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1), '{GENESIS_HASH}') FROM audit_log",
    "ALTER TABLE claims ADD COLUMN review_rank INTEGER",
    "UPDATE claims SET review_rank = (SELECT priority_rank FROM assessments "
    "WHERE assessments.claim_id = claims.id) WHERE status = 'ASSESSED'",
    "CREATE INDEX IF NOT EXISTS ix_claims_review_queue ON claims (review_rank, received_at, id) "
    "WHERE review_rank IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS ix_claims_received ON claims (received_at, id)",
    "CREATE INDEX IF NOT EXISTS ix_reviews_claim_created ON reviews (claim_id, created_at)",
)

_RANK_FROM_ASSESSMENT = (
    "UPDATE claims SET review_rank = NEW.priority_rank WHERE id = NEW.claim_id AND status = 'ASSESSED'"
)
_RANK_FROM_STATUS = (
    "UPDATE claims SET review_rank = CASE WHEN NEW.status = 'ASSESSED' THEN "
    "(SELECT priority_rank FROM assessments WHERE claim_id = NEW.id) END WHERE id = NEW.id"
)

_SQLITE = (
    "CREATE TRIGGER IF NOT EXISTS claims_review_rank_on_status AFTER UPDATE OF status ON claims "
    f"BEGIN {_RANK_FROM_STATUS}; END",
    "CREATE TRIGGER IF NOT EXISTS assessments_review_rank_on_insert AFTER INSERT ON assessments "
    f"BEGIN {_RANK_FROM_ASSESSMENT}; END",
    "CREATE TRIGGER IF NOT EXISTS assessments_review_rank_on_update "
    f"AFTER UPDATE OF priority_rank ON assessments BEGIN {_RANK_FROM_ASSESSMENT}; END",
    "CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_head_forward_only BEFORE UPDATE ON audit_head "
    "WHEN NEW.id <> OLD.id OR NEW.seq <> OLD.seq + 1 "
    "BEGIN SELECT RAISE(ABORT, 'audit_head moves forward one entry at a time'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_head_no_delete BEFORE DELETE ON audit_head "
    "BEGIN SELECT RAISE(ABORT, 'audit_head cannot be deleted'); END",
)

_POSTGRES = (
    f"""CREATE OR REPLACE FUNCTION claims_review_rank() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_TABLE_NAME = 'claims' THEN
            {_RANK_FROM_STATUS};
        ELSE
            {_RANK_FROM_ASSESSMENT};
        END IF;
        RETURN NULL;
    END $$""",
    "CREATE TRIGGER claims_review_rank_on_status AFTER UPDATE OF status ON claims FOR EACH ROW "
    "WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION claims_review_rank()",
    "CREATE TRIGGER assessments_review_rank AFTER INSERT OR UPDATE OF priority_rank ON assessments "
    "FOR EACH ROW EXECUTE FUNCTION claims_review_rank()",
    """CREATE OR REPLACE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END $$""",
    "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change()",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change()",
    """CREATE OR REPLACE FUNCTION audit_head_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP <> 'UPDATE' OR NEW.id <> OLD.id OR NEW.seq <> OLD.seq + 1 THEN
            RAISE EXCEPTION 'audit_head moves forward one entry at a time: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
    END $$""",
    "CREATE TRIGGER audit_head_forward_only BEFORE UPDATE OR DELETE ON audit_head "
    "FOR EACH ROW EXECUTE FUNCTION audit_head_forward_only()",
    "CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_head_forward_only()",
)

_DROP_SQLITE = (
    "DROP TRIGGER IF EXISTS claims_review_rank_on_status",
    "DROP TRIGGER IF EXISTS assessments_review_rank_on_insert",
    "DROP TRIGGER IF EXISTS assessments_review_rank_on_update",
    "DROP TRIGGER IF EXISTS audit_log_no_update",
    "DROP TRIGGER IF EXISTS audit_log_no_delete",
    "DROP TRIGGER IF EXISTS audit_head_forward_only",
    "DROP TRIGGER IF EXISTS audit_head_no_delete",
)
_DROP_POSTGRES = (
    "DROP TRIGGER IF EXISTS claims_review_rank_on_status ON claims",
    "DROP TRIGGER IF EXISTS assessments_review_rank ON assessments",
    "DROP FUNCTION IF EXISTS claims_review_rank()",
    "DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log",
    "DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log",
    "DROP TRIGGER IF EXISTS audit_head_forward_only ON audit_head",
    "DROP TRIGGER IF EXISTS audit_head_no_truncate ON audit_head",
    "DROP FUNCTION IF EXISTS audit_log_refuse_change()",
    "DROP FUNCTION IF EXISTS audit_head_forward_only()",
)
_DROP_COMMON = (
    "DROP INDEX IF EXISTS ix_claims_review_queue",
    "DROP INDEX IF EXISTS ix_claims_received",
    "DROP INDEX IF EXISTS ix_reviews_claim_created",
    "DROP TABLE IF EXISTS audit_head",
    "ALTER TABLE claims DROP COLUMN review_rank",
)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="cloud", description=DESCRIPTION)

    async def apply() -> None:
        engine = engine_finder()  # the engine the migration's transaction runs on
        engine_specific = _SQLITE if isinstance(engine, SQLiteEngine) else _POSTGRES
        for statement in (*_COMMON, *engine_specific):
            await engine.run_ddl(statement)

    async def revert() -> None:
        engine = engine_finder()
        engine_specific = _DROP_SQLITE if isinstance(engine, SQLiteEngine) else _DROP_POSTGRES
        for statement in (*engine_specific, *_DROP_COMMON):
            await engine.run_ddl(statement)

    manager.add_raw(apply)
    manager.add_raw_backwards(revert)
    return manager
