"""``python -m cloud_api.training.real``: the local reader on the real dashcam clips in
../shared/data/real (labels.tsv), where that folder exists. A spot check of the domain gap, not an
accuracy figure: a handful of clips, labelled only crash / normal, none of them like the training set.

Prints one line per dashcam clip (kind, the labelled impact, where the reader put the peak, its top
severity and P(NONE), its scenario, how many caveats the reading carries), then how many crashes it
called not-NONE, normals NONE, and readings flagged.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from cloud_api.domain.assessments.scene.local import LocalSceneReader
from shared_models import Severity

REAL_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real"


def main(real_dir: Path = REAL_DIR) -> int:
    labels = real_dir / "labels.tsv"
    if not labels.exists():
        print(f"skipped: {labels} is absent (the real clips are not part of the repo)")
        return 0
    reader = LocalSceneReader()
    with labels.open(newline="") as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t") if r["view"] == "dashcam"]
    hits = {"crash": [0, 0], "normal": [0, 0]}
    flagged = 0
    for row in rows:
        try:
            reading = reader.read(real_dir / row["file"], None)
        except ValueError as e:
            print(f"{row['file']}: unreadable ({e})")
            continue
        p = reading.severity_probabilities
        top = max(p, key=p.__getitem__)
        impact = f"{float(row['impact_s']):5.2f}" if row["impact_s"] else "    -"
        print(
            f"{row['file']:<56} {row['kind']:<8} impact {impact} peak {reading.signals.decoded.peak_t_s:6.2f}"
            f"  {top.value:<6} P(NONE) {p[Severity.NONE]:.2f}  {reading.scenario.value:<17}"
            f" caveats {len(reading.caveats)}"
        )
        flagged += bool(reading.caveats)
        if row["kind"] in hits:
            hits[row["kind"]][0] += (top is not Severity.NONE) == (row["kind"] == "crash")
            hits[row["kind"]][1] += 1
    print(f"crashes read as an incident (top severity not NONE): {hits['crash'][0]}/{hits['crash'][1]}")
    print(f"normal drives read as NONE: {hits['normal'][0]}/{hits['normal'][1]}")
    print(f"readings carrying a caveat (input unlike the training clips): {flagged}/{len(rows)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else REAL_DIR))
