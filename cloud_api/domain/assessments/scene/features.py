"""The local model's input, from grey frames on a 10 Hz grid around the peak. Numpy only.

Training (rendered frames) and serving (decoded frames) both go through these functions, so the
model sees the same numbers either way: frames are brought to ``WORK_SIZE`` grey by the caller
(swscale when decoding, cv2 when rendering), then block-averaged here to ``SMALL_SIZE``.
"""

from __future__ import annotations

import numpy as np

from cloud_api.domain.assessments.taxonomy import Scenario

# The scenario head's classes, in output order: the ones the generated training set can draw.
MODEL_SCENARIOS: tuple[Scenario, ...] = (
    Scenario.NONE,
    Scenario.REAR_END_STRIKING,
    Scenario.REAR_END_STRUCK,
    Scenario.LANE_CHANGE,
    Scenario.SINGLE_VEHICLE,
    Scenario.NEAR_MISS,
)
RATE_HZ = 10
PRE_S = 2.0  # seconds of context before the peak (the approach, the lead car looming)
POST_S = 1.0  # seconds after it (the jolt ringing out, the ego stopping)
SEARCH_S = 0.5  # the nominal peak is moved to the largest frame change within this distance
DECODE_PRE_S = PRE_S + SEARCH_S
DECODE_POST_S = POST_S + SEARCH_S
WORK_SIZE = (256, 144)  # width, height the caller converts frames to
BLOCK = 4
SMALL_SIZE = (WORK_SIZE[0] // BLOCK, WORK_SIZE[1] // BLOCK)  # 64 x 36
WINDOW = round((PRE_S + POST_S) * RATE_HZ) + 1  # 31 frames
STILLS = (0, round((PRE_S - 0.5) * RATE_HZ), round(PRE_S * RATE_HZ), WINDOW - 1)  # raw frames kept
CHANNELS = WINDOW - 1 + len(STILLS)
DIFF_SCALE = 32.0
# The largest mean frame change over the 1.6 s up to 0.4 s before the peak in the generated training split
# (cloud_api/training; 99th percentile 8.9): above it, a scene is busier than anything the model saw.
TRAINED_BACKGROUND_MAX = 10.0


def grid(nominal_t: float) -> np.ndarray:
    """The 10 Hz sample times decoded around a nominal peak (wide enough to move the peak)."""
    steps = np.arange(-round(DECODE_PRE_S * RATE_HZ), round(DECODE_POST_S * RATE_HZ) + 1)
    return nominal_t + steps / RATE_HZ


def shrink(grey: np.ndarray) -> np.ndarray:
    """A WORK_SIZE grey frame (height x width uint8) to SMALL_SIZE float32 by block means."""
    h, w = grey.shape
    if (w, h) != WORK_SIZE:
        raise ValueError(f"expected a {WORK_SIZE[0]}x{WORK_SIZE[1]} frame, got {w}x{h}")
    return grey.reshape(h // BLOCK, BLOCK, w // BLOCK, BLOCK).mean(axis=(1, 3), dtype=np.float32)


def frame_change(small: np.ndarray) -> np.ndarray:
    """Mean absolute grey-level change from each frame to the next (len - 1 values)."""
    return np.abs(np.diff(small, axis=0)).mean(axis=(1, 2))


def centre(small: np.ndarray) -> int:
    """Index, within a ``grid()`` stack, of the peak: the largest change within SEARCH_S of nominal.

    The change between frames i-1 and i is attributed to frame i (the first frame showing it).
    """
    change = frame_change(small)
    nominal = round(DECODE_PRE_S * RATE_HZ)
    reach = round(SEARCH_S * RATE_HZ)
    lo, hi = nominal - reach, nominal + reach
    return lo + int(np.argmax(change[lo - 1 : hi])) if len(change) >= hi else nominal


def window(small: np.ndarray, peak_index: int) -> np.ndarray:
    """The WINDOW frames from PRE_S before to POST_S after the peak."""
    start = peak_index - round(PRE_S * RATE_HZ)
    return small[start : start + WINDOW]


def model_input(frames: np.ndarray) -> np.ndarray:
    """(1, CHANNELS, 36, 64): the signed changes between consecutive frames, then four stills.

    Changes carry the jolt and the flow; stills carry the lead vehicle's size and place.
    """
    if frames.shape != (WINDOW, SMALL_SIZE[1], SMALL_SIZE[0]):
        raise ValueError(f"expected {WINDOW} frames of {SMALL_SIZE}, got {frames.shape}")
    diffs = np.diff(frames, axis=0) / DIFF_SCALE
    stills = frames[list(STILLS)] / 255.0 - 0.5
    return np.concatenate([diffs, stills])[None].astype(np.float32)
