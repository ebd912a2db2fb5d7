from piccolo.columns import JSON, DoublePrecision, Integer, Text, Timestamptz, Varchar
from piccolo.columns.column_types import ForeignKey
from piccolo.table import Table

from cloud_api.domain.claims.tables import Claim


class Assessment(Table, tablename="assessments"):
    claim_id = ForeignKey(references=Claim, unique=True)
    """Exactly one assessment per claim."""
    severity = Varchar(length=16)
    confidence = DoublePrecision()
    review_priority = Varchar(length=16)
    priority_rank = Integer()
    """0 URGENT, 1 STANDARD, 2 LOW_PRIORITY: the review queue sorts on it."""
    fraud_risk_score = DoublePrecision()
    fault_ratio = DoublePrecision()
    model = Varchar(length=64)
    body = JSON()
    """The full AssessmentOut as JSON."""
    created_at = Timestamptz()


class AssessmentJob(Table, tablename="assessment_jobs"):
    claim_id = ForeignKey(references=Claim, unique=True)
    state = Varchar(length=16, index=True)
    """queued, running, done or failed."""
    attempts = Integer(default=0)
    available_at = Timestamptz()
    """A queued job is not taken before this instant (retry backoff)."""
    lease_until = Timestamptz(null=True, default=None)
    """A running job whose lease has passed is taken again (its worker died)."""
    error = Text(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()
