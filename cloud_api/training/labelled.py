"""Labelled readings for conformal calibration: the local model's severity probabilities on generated
clips whose true severity is known. Needs the edge extra (the renderer uses OpenCV), not torch.

cloud_api/models/scene_heldout.json holds the same for the held-out test split, written at training,
for code that should not render (the server's initial calibration).
"""

from __future__ import annotations

from collections.abc import Iterator

from cloud_api.domain.assessments.scene.local import LocalSceneReader
from cloud_api.training.scenarios import generated
from shared_models import Severity

FIRST_SEED = 200_000  # past every training, validation and test seed (dataset.SPLITS)


def generated_readings(
    count: int, first_seed: int = FIRST_SEED, reader: LocalSceneReader | None = None
) -> Iterator[tuple[dict[Severity, float], Severity]]:
    """(severity probabilities, true severity) for ``count`` generated clips, rendered on the fly."""
    reader = reader or LocalSceneReader()
    for case, window in generated(count, first_seed):
        severity, _ = reader.predict(window)
        yield severity, case.severity
