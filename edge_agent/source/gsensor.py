"""G-sensor sidecar: a CSV ``t,ax,ay,az`` next to a recording, read into AccelBlocks on its timeline.

Dashcams that log their accelerometer write it beside the video; here that file is
``<video stem>.gsensor.csv`` (``drive_0001.mp4`` -> ``drive_0001.gsensor.csv``) unless a path is given.
``t`` is seconds from the start of that video, the accelerations are m/s^2 in device axes (x forward,
y left, z up). The sidecar is optional evidence: a file that cannot be used is one log line and the
video is mined without it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from edge_agent.source.base import AccelBlock, AudioBlock, VideoFrame

log = logging.getLogger(__name__)

SIDECAR_SUFFIX = ".gsensor.csv"
HEADER = ("t", "ax", "ay", "az")
BLOCK_S = 0.1  # readings are handed to the miners in blocks this long (one timeline bin at 10 Hz)
_MAX_ABS = 2000.0  # m/s^2 (about 200 g): anything larger is a broken logger, not a crash


class GSensorError(ValueError):
    """The sidecar cannot be used; the message names the file and, where it helps, the line."""


def sidecar_for(video: Path) -> Path:
    """Where the sidecar of ``video`` is looked for."""
    return video.with_name(video.stem + SIDECAR_SUFFIX)


def read_gsensor_csv(path: Path) -> np.ndarray:
    """N x 4 float32 [t, ax, ay, az], times strictly increasing; raises GSensorError."""
    try:
        lines = Path(path).read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise GSensorError(f"{path}: cannot read: {exc}") from None
    if not lines or tuple(c.strip() for c in lines[0].split(",")) != HEADER:
        raise GSensorError(f"{path}: line 1: header must be {','.join(HEADER)}")
    rows: list[list[float]] = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        try:
            row = [float(c) for c in line.split(",")]
        except ValueError:
            raise GSensorError(f"{path}: line {number}: not four numbers: {line[:60]!r}") from None
        if len(row) != 4 or not all(math.isfinite(v) for v in row):
            raise GSensorError(f"{path}: line {number}: not four finite numbers: {line[:60]!r}")
        if max(abs(v) for v in row[1:]) > _MAX_ABS:
            raise GSensorError(f"{path}: line {number}: acceleration beyond {_MAX_ABS:.0f} m/s^2")
        if rows and row[0] <= rows[-1][0]:
            raise GSensorError(f"{path}: line {number}: time {row[0]} does not increase")
        rows.append(row)
    if not rows:
        raise GSensorError(f"{path}: no readings")
    return np.asarray(rows, dtype=np.float32)


def accel_blocks(samples: np.ndarray, offset_s: float = 0.0, block_s: float = BLOCK_S) -> list[AccelBlock]:
    """Readings cut into blocks of ``block_s``, times shifted by ``offset_s`` (a segment's start)."""
    shifted = samples.copy()
    shifted[:, 0] += offset_s
    bins = np.floor((shifted[:, 0] - shifted[0, 0]) / block_s).astype(np.int64)
    cuts = np.flatnonzero(np.diff(bins)) + 1
    return [AccelBlock(t=float(part[0, 0]), samples=part) for part in np.split(shifted, cuts)]


def load_sidecar(video: Path, explicit: Path | None = None, offset_s: float = 0.0) -> list[AccelBlock]:
    """The blocks of ``explicit`` or of the sidecar found next to ``video``; [] when absent or unusable."""
    path = explicit if explicit is not None else sidecar_for(video)
    if explicit is None and not path.exists():
        return []
    try:
        samples = read_gsensor_csv(path)
    except GSensorError as exc:
        log.warning("source.gsensor_rejected video=%s error=%s", video, exc)
        return []
    log.info("source.gsensor path=%s readings=%d", path, len(samples))
    return accel_blocks(samples, offset_s)


def interleave(
    items: Iterable[VideoFrame | AudioBlock], blocks: Sequence[AccelBlock]
) -> Iterator[VideoFrame | AudioBlock | AccelBlock]:
    """``items`` with ``blocks`` slotted in by time: a block goes out before the first item after it."""
    pending = iter(blocks)
    block = next(pending, None)
    for item in items:
        while block is not None and block.t <= item.t:
            yield block
            block = next(pending, None)
        yield item
    while block is not None:
        yield block
        block = next(pending, None)
