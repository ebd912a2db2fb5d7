"""Stored, versioned conformal calibrations: the initial generated one, then versions from reviews.

A reviewed claim's label is the reviewer's final severity: the severity override of its latest APPROVE
or REJECT decision, or the assessed severity when the reviewer left it as it was (REQUEST_MORE_INFO is
not final). Its probabilities are the ones stored with its assessment, so a recalibration measures the
reader actually in service. Versions only grow; each keeps its pairs, so any version can be re-checked.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from cloud_api.db.helpers import from_json, to_json, utcnow
from cloud_api.domain.assessments.conformal import (
    ConformalConfig,
    Method,
    Thresholds,
    as_array,
    fit,
    generated_pairs,
    split_pairs,
)
from cloud_api.domain.assessments.schemas import CoverageSummary
from cloud_api.domain.assessments.tables import Assessment, Calibration
from cloud_api.domain.reviews.tables import Review
from cloud_api.settings import Settings
from shared_models import Decision, Severity
from shared_models.enums import SEVERITY_ORDER

log = logging.getLogger(__name__)

INITIAL_SIZE = 2000
INITIAL_SEED = 20261127
MODEL_PAIRS = Path(__file__).resolve().parents[2] / "models" / "scene_heldout.json"
"""Written by ``just train-models``: the local scene model's severity probabilities on its held-out
test split of generated clips, with their true severities. Version 1 is built from it (the reader in
service, measured on clips it never trained on); without it, from ``conformal.generated_pairs``."""
_FINAL = [Decision.APPROVE.value, Decision.REJECT.value]


class LoadedCalibration(msgspec.Struct, frozen=True, kw_only=True):
    version: int
    source: str
    thresholds: Thresholds
    reviews_seen: int


class ReviewedClaim(msgspec.Struct, frozen=True, kw_only=True):
    claim_id: str
    probabilities: dict[str, float]
    prediction_set: list[Severity]
    label: Severity


def _pairs(
    items: Iterable[tuple[int, Any]], where: Path, probabilities: str, label: str
) -> tuple[np.ndarray, np.ndarray]:
    rows, labels = [], []
    for number, item in items:
        try:
            rows.append(as_array(item[probabilities]))
            labels.append(SEVERITY_ORDER.index(Severity(item[label])))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{where}:{number}: not a labelled pair ({exc})") from None
    if not rows:
        raise ValueError(f"{where} holds no pairs")
    return np.stack(rows), np.array(labels)


def read_pairs(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """JSON lines ``{"probabilities": {"NONE": .., "LOW": .., ...}, "label": "LOW"}``."""

    def items() -> Iterator[tuple[int, Any]]:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if line.strip():
                try:
                    yield number, json.loads(line)
                except ValueError as exc:
                    raise ValueError(f"{path}:{number}: not a labelled pair ({exc})") from None

    return _pairs(items(), path, "probabilities", "label")


def read_heldout(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The training's held-out readings: a JSON list of ``{"severity_probabilities": .., "severity": ..}``."""
    return _pairs(enumerate(json.loads(path.read_text()), 1), path, "severity_probabilities", "severity")


def _row_pairs(p: np.ndarray, labels: np.ndarray) -> list[list[float]]:
    return [[*(round(float(x), 6) for x in row), int(y)] for row, y in zip(p, labels, strict=True)]


_IN_BATCH = 5000


async def reviewed_claims() -> list[ReviewedClaim]:
    """Every claim with a final review, labelled with the reviewer's final severity."""
    reviews = (
        await Review.select(Review.claim_id, Review.overrides)
        .where(Review.decision.is_in(_FINAL))
        .order_by(Review.created_at)
        .order_by(Review.id)
        .run()
    )
    latest: dict[str, dict[str, Any]] = {r["claim_id"]: from_json(r["overrides"]) or {} for r in reviews}
    if not latest:
        return []
    ids = list(latest)
    rows: list[dict[str, Any]] = []
    for i in range(0, len(ids), _IN_BATCH):  # PostgreSQL takes at most 32,767 bind parameters
        rows += (
            await Assessment.select(Assessment.claim_id, Assessment.severity, Assessment.body)
            .where(Assessment.claim_id.is_in(ids[i : i + _IN_BATCH]))
            .run()
        )
    out = []
    for row in rows:
        body = from_json(row["body"])
        label = latest[row["claim_id"]].get("severity") or row["severity"]
        out.append(
            ReviewedClaim(
                claim_id=row["claim_id"],
                probabilities=body["severity_probabilities"],
                prediction_set=[Severity(s) for s in body["prediction_set"]],
                label=Severity(label),
            )
        )
    return out


_COVERAGE = """
    SELECT COUNT(*) AS reviewed, COALESCE(SUM(CASE WHEN r.label_in_set THEN 1 ELSE 0 END), 0) AS covered
    FROM reviews r
    WHERE r.decision IN ('APPROVE', 'REJECT') AND NOT EXISTS (
        SELECT 1 FROM reviews later
        WHERE later.claim_id = r.claim_id AND later.decision IN ('APPROVE', 'REJECT')
          AND (later.created_at > r.created_at OR (later.created_at = r.created_at AND later.id > r.id))
    )
"""
"""Each claim's latest final review counts once; ``label_in_set`` was stored when it was written."""


async def coverage_summary(alpha: float | None = None) -> CoverageSummary:
    """How often the stored prediction sets held the reviewer's severity (for /metrics).

    ``alpha`` defaults to the latest calibration's, i.e. the target the sets were made for.
    """
    [counts] = await Review.raw(_COVERAGE).run()
    reviewed, covered = int(counts["reviewed"]), int(counts["covered"])
    latest = (
        await Calibration.select(Calibration.version, Calibration.alpha)
        .order_by(Calibration.version, ascending=False)
        .first()
        .run()
    )
    return CoverageSummary(
        reviewed=reviewed,
        covered=covered,
        coverage=round(covered / reviewed, 4) if reviewed else None,
        alpha=alpha if alpha is not None else (latest["alpha"] if latest else 0.1),
        calibration_version=latest["version"] if latest else None,
    )


class CalibrationStore:
    """The current calibration for this process's ALPHA / method; makes version 1 on first use."""

    def __init__(
        self, config: ConformalConfig, every_n_reviews: int, model_pairs: Path = MODEL_PAIRS
    ) -> None:
        self.config = config
        self.every_n_reviews = every_n_reviews
        self.model_pairs = model_pairs
        self._cached: LoadedCalibration | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> CalibrationStore:
        if settings.conformal_method not in set(Method):
            raise ValueError(f"CONFORMAL_METHOD={settings.conformal_method!r} is not one of {sorted(Method)}")
        config = ConformalConfig(
            alpha=settings.alpha,
            method=Method(settings.conformal_method),
            class_conditional=settings.conformal_class_conditional,
        )
        return cls(config, settings.recalibrate_every_n_reviews)

    async def current(self) -> LoadedCalibration:
        latest = (
            await Calibration.select(Calibration.version)
            .order_by(Calibration.version, ascending=False)
            .first()
            .run()
        )
        if latest is None:
            await self._initial()
        elif self._cached is not None and self._cached.version == latest["version"]:
            return self._cached
        row = await Calibration.select().order_by(Calibration.version, ascending=False).first().run()
        p, labels = split_pairs(from_json(row["pairs"]))
        self._cached = LoadedCalibration(
            version=row["version"],
            source=row["source"],
            thresholds=fit(p, labels, self.config),
            reviews_seen=row["reviews_seen"],
        )
        return self._cached

    async def recalibrate(self, minimum: int | None = None) -> LoadedCalibration | None:
        """A new version from every reviewed claim; None when there are fewer than ``minimum``.

        The default minimum is the smallest set whose threshold is finite: ceil(1 / alpha) - 1.
        """
        claims = await reviewed_claims()
        needed = minimum if minimum is not None else math.ceil(1 / self.config.alpha) - 1
        if len(claims) < max(1, needed):
            log.info("calibration.skipped reviewed=%d needed=%d", len(claims), needed)
            return None
        p = np.stack([as_array(c.probabilities) for c in claims])
        labels = np.array([SEVERITY_ORDER.index(c.label) for c in claims])
        version = await self._insert("reviews", p, labels, reviews_seen=len(claims), note="reviewed claims")
        log.info("calibration.created version=%d source=reviews n=%d", version, len(claims))
        return await self.current()

    async def maybe_recalibrate(self) -> LoadedCalibration | None:
        """Recalibrate when RECALIBRATE_EVERY_N_REVIEWS reviews arrived since the current version."""
        if self.every_n_reviews <= 0:
            return None
        current = await self.current()
        reviewed = await Review.count().where(Review.decision.is_in(_FINAL)).run()
        if reviewed - current.reviews_seen < self.every_n_reviews:
            return None
        return await self.recalibrate()

    async def from_pairs(
        self, p: np.ndarray, labels: np.ndarray, source: str, note: str
    ) -> LoadedCalibration:
        """A new version from given pairs (``cloud-api calibrate --from-file``)."""
        await self._insert(source, p, labels, reviews_seen=0, note=note)
        return await self.current()

    async def _initial(self) -> None:
        if self.model_pairs.exists():
            p, labels = read_heldout(self.model_pairs)
            source, note = (
                "model",
                f"the local model on its held-out generated clips: {self.model_pairs.name}",
            )
        else:
            p, labels = generated_pairs(INITIAL_SIZE, INITIAL_SEED)
            source, note = "generated", f"conformal.generated_pairs(n={INITIAL_SIZE}, seed={INITIAL_SEED})"
        await self._insert(source, p, labels, reviews_seen=0, note=note, version=1)

    async def _insert(
        self,
        source: str,
        p: np.ndarray,
        labels: np.ndarray,
        reviews_seen: int,
        note: str,
        version: int | None = None,
    ) -> int:
        """Insert the next version; a racing process inserting the same version wins, and we retry."""
        thresholds = fit(p, labels, self.config)
        for _ in range(5):
            latest = (
                await Calibration.select(Calibration.version)
                .order_by(Calibration.version, ascending=False)
                .first()
                .run()
            )
            next_version = version or (latest["version"] + 1 if latest else 1)
            inserted = (
                await Calibration.insert(
                    Calibration(
                        version=next_version,
                        source=source,
                        method=self.config.method.value,
                        alpha=self.config.alpha,
                        class_conditional=self.config.class_conditional,
                        n=len(labels),
                        qhat=to_json([None if math.isinf(q) else q for q in thresholds.qhat]),
                        pairs=to_json(_row_pairs(p, labels)),
                        reviews_seen=reviews_seen,
                        note=note,
                        created_at=utcnow(),
                    )
                )
                .on_conflict(action="DO NOTHING")
                .returning(Calibration.version)
                .run()
            )
            if inserted or version is not None:
                return next_version
        raise RuntimeError("could not store a calibration version: too many concurrent writers")
