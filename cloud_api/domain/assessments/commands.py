"""``cloud-api worker`` (standalone assessment workers) and ``cloud-api calibrate`` (a new calibration)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cloud_api.domain.assessments.calibration import LoadedCalibration, coverage_summary, read_pairs
from cloud_api.server.runtime import Runtime
from cloud_api.settings import Settings

log = logging.getLogger(__name__)


def _worker(_args: argparse.Namespace, settings: Settings) -> int:
    """WORKER_MAX_THREADS workers on DATABASE_URL until SIGTERM / SIGINT; no API, no ingest."""

    async def main() -> int:
        runtime = Runtime(settings.replace(ingest_enabled=False, worker_enabled=True))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await runtime.open_database()
        assert runtime.worker is not None
        runtime.worker.start()
        log.info("worker.process_started threads=%d", settings.worker_max_threads)
        try:
            await stop.wait()
        finally:
            await runtime.stop()
        return 0

    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(main())
    return 0


def _describe(c: LoadedCalibration) -> str:
    cfg = c.thresholds.config
    thresholds = ", ".join("all" if q == float("inf") else f"{q:.4f}" for q in c.thresholds.qhat)
    return (
        f"calibration version={c.version} source={c.source} n={c.thresholds.n} method={cfg.method} "
        f"alpha={cfg.alpha} class_conditional={cfg.class_conditional} thresholds=[{thresholds}]"
    )


async def _calibrate(runtime: Runtime, args: argparse.Namespace) -> int:
    store = runtime.calibrations
    if args.from_file:
        p, labels = read_pairs(Path(args.from_file))
        made: LoadedCalibration | None = await store.from_pairs(p, labels, "file", f"from {args.from_file}")
    else:
        await store.current()  # version 1 (generated) exists before any recalibration
        made = await store.recalibrate(minimum=args.min_reviews)
    current = await store.current()
    summary = await coverage_summary(store.config.alpha)
    print("new " + _describe(current) if made else "kept " + _describe(current))
    coverage = "n/a" if summary.coverage is None else f"{summary.coverage:.4f}"
    print(
        f"reviewed claims={summary.reviewed} covered={summary.covered} coverage={coverage} "
        f"target={1 - store.config.alpha:.2f}"
    )
    return 0 if made else 1


def add_commands(
    sub: Any, with_database: Callable[[Callable[[Runtime, argparse.Namespace], Any]], Callable[..., int]]
) -> None:
    """Register ``worker`` and ``calibrate`` on the ``cloud-api`` sub-parsers."""
    sub.add_parser(
        "worker", help="run assessment workers only (WORKER_MAX_THREADS) until SIGTERM; scale by processes"
    ).set_defaults(run=_worker)
    calibrate = sub.add_parser(
        "calibrate",
        help="new conformal calibration from reviewed claims (exit 1: too few, the current one is kept)",
    )
    calibrate.add_argument(
        "--min-reviews", type=int, default=None, help="default: the fewest that give a finite threshold"
    )
    calibrate.add_argument(
        "--from-file", default=None, help='JSON lines {"probabilities": {...}, "label": "LOW"} instead'
    )
    calibrate.set_defaults(run=with_database(_calibrate))
