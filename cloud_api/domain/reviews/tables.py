from piccolo.columns import JSON, Boolean, Text, Timestamptz, Varchar
from piccolo.columns.column_types import ForeignKey
from piccolo.table import Table

from cloud_api.domain.claims.tables import Claim


class Review(Table, tablename="reviews"):
    claim_id = ForeignKey(references=Claim, index=True)
    decision = Varchar(length=32)
    reviewer_id = Varchar(length=100)
    reasoning = Text()
    overrides = JSON()
    """severity / fault_ratio / fraud overrides the reviewer set, as JSON."""
    created_at = Timestamptz()
    label_in_set = Boolean(null=True, default=None)
    """APPROVE / REJECT: the final severity was in the AI's prediction set (coverage.py); else NULL."""
