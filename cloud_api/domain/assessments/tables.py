from piccolo.columns import JSON, Boolean, DoublePrecision, Integer, Text, Timestamptz, Varchar
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
    leased_by = Varchar(length=64, default="")
    """The worker (host:pid:task) holding or last holding the lease: which process did the work."""


class ClipFingerprint(Table, tablename="clip_fingerprints"):
    """One perceptual hash (64-bit dHash) per key frame of a claim's clip, for near-duplicate search.

    The four 16-bit bands are indexed: two hashes within a few bits almost always share a band, so a
    lookup is an indexed equality query, and the exact Hamming distance is checked on the candidates.
    """

    claim_id = Varchar(length=36, index=True)
    t_s = DoublePrecision()
    dhash = Varchar(length=16)
    """The hash as 16 hex digits."""
    band0 = Integer(index=True)
    band1 = Integer(index=True)
    band2 = Integer(index=True)
    band3 = Integer(index=True)


class Calibration(Table, tablename="calibrations"):
    """A versioned split-conformal calibration set: (severity probabilities, true label) pairs.

    The thresholds are recomputed from the pairs for the configured ALPHA and method, so changing
    either needs no new data; ``qhat`` records the thresholds as computed when the version was made.
    """

    version = Integer(unique=True)
    source = Varchar(length=16)
    """generated (simulated pairs), model (the local model on held-out generated clips), file
    (``cloud-api calibrate --from-file``) or reviews (reviewers' final severities)."""
    method = Varchar(length=8)
    alpha = DoublePrecision()
    class_conditional = Boolean(default=False)
    n = Integer()
    qhat = JSON()
    pairs = JSON()
    """[[p_NONE, p_LOW, p_MEDIUM, p_HIGH, label_index], ...]"""
    reviews_seen = Integer(default=0)
    """Reviewed claims counted when this version was made: the next recalibration waits for N more."""
    note = Text(default="")
    created_at = Timestamptz()
