"""``python -m cloud_api.training``: render the generated splits (cached), train the scene CNN, export,
quantize to INT8, and write the model, its card and the labelled held-out readings to cloud_api/models/."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import msgspec
import torch

from cloud_api.domain.assessments.scene.local import MODEL_PATH
from cloud_api.training import card, dataset, train

log = logging.getLogger("cloud_api.training")

HELDOUT_PATH = MODEL_PATH.with_name("scene_heldout.json")  # read by assessments/calibration.py


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cloud_api.training", description=__doc__)
    parser.add_argument("--cache-dir", type=Path, default=dataset.CACHE_DIR)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    torch.set_num_threads(1)
    splits = {name: dataset.load(name, args.cache_dir) for name in dataset.SPLITS}
    started = time.perf_counter()
    net = train.fit(splits["train"], splits["val"])
    train_seconds = time.perf_counter() - started
    temps = train.temperatures(net, splits["val"])
    fp32 = args.cache_dir / "scene_fp32.onnx"
    train.export(net, *temps, fp32)
    train.quantize(fp32, MODEL_PATH, splits["val"].x)
    test = splits["test"]
    fp32_scores = card.scores(*train.run_onnx(fp32, test.x), test)
    int8_scores = card.scores(*train.run_onnx(MODEL_PATH, test.x), test)
    card.write_card(
        MODEL_PATH.with_name("MODEL_CARD.md"),
        fp32_scores,
        int8_scores,
        sizes=(fp32.stat().st_size, MODEL_PATH.stat().st_size),
        latency=(card.latency_ms(fp32, test.x), card.latency_ms(MODEL_PATH, test.x)),
        temperatures=temps,
        train_seconds=train_seconds,
    )
    HELDOUT_PATH.write_bytes(
        msgspec.json.format(msgspec.json.encode(card.heldout_readings(MODEL_PATH, test)))
    )
    log.info(
        "training.done model=%s fp32=%s int8=%s",
        MODEL_PATH,
        msgspec.json.encode(fp32_scores).decode(),
        msgspec.json.encode(int8_scores).decode(),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
