"""The local model's input on synthetic frames: grid, shrink, peak centring, window, channel layout."""

from __future__ import annotations

import numpy as np
import pytest

from cloud_api.domain.assessments.scene import features

H, W = features.SMALL_SIZE[1], features.SMALL_SIZE[0]


def grid_stack(jolt_at: int | None, n: int = len(features.grid(10.0))) -> np.ndarray:
    rng = np.random.default_rng(0)
    small = np.full((n, H, W), 100.0, np.float32) + rng.normal(0, 1, (n, H, W)).astype(np.float32)
    if jolt_at is not None:
        small[jolt_at:] += 40.0  # everything changes at this frame
    return small


def test_grid_spans_the_decode_window_at_10_hz() -> None:
    times = features.grid(12.0)
    assert times[0] == pytest.approx(12.0 - features.DECODE_PRE_S)
    assert times[-1] == pytest.approx(12.0 + features.DECODE_POST_S)
    assert np.diff(times) == pytest.approx(0.1)


def test_shrink_block_averages_and_rejects_other_sizes() -> None:
    frame = np.zeros((144, 256), np.uint8)
    frame[:4, :4] = 200
    small = features.shrink(frame)
    assert small.shape == (H, W) and small[0, 0] == 200 and small[0, 1] == 0
    with pytest.raises(ValueError, match="256x144"):
        features.shrink(np.zeros((720, 1280), np.uint8))


@pytest.mark.parametrize("offset", [-5, -2, 0, 3, 5])
def test_centre_moves_the_peak_to_the_largest_change_within_reach(offset: int) -> None:
    nominal = round(features.DECODE_PRE_S * features.RATE_HZ)
    assert features.centre(grid_stack(nominal + offset)) == nominal + offset


def test_centre_ignores_changes_out_of_reach() -> None:
    nominal = round(features.DECODE_PRE_S * features.RATE_HZ)
    small = grid_stack(nominal + 8)
    small[nominal + 1 :] += 5.0  # a smaller change within reach wins over a bigger one outside it
    assert features.centre(small) == nominal + 1


def test_window_and_model_input_layout() -> None:
    nominal = round(features.DECODE_PRE_S * features.RATE_HZ)
    small = grid_stack(nominal)
    window = features.window(small, nominal)
    assert window.shape == (features.WINDOW, H, W)
    x = features.model_input(window)
    assert x.shape == (1, features.CHANNELS, H, W) and x.dtype == np.float32
    jolt_channel = round(features.PRE_S * features.RATE_HZ) - 1  # change from frame 19 to 20 (the peak)
    means = x[0, : features.WINDOW - 1].mean(axis=(1, 2))
    assert int(np.argmax(means)) == jolt_channel
    assert means[jolt_channel] == pytest.approx(40.0 / features.DIFF_SCALE, abs=0.05)
    with pytest.raises(ValueError):
        features.model_input(window[:-1])


def test_caveats_name_padded_windows_and_busier_scenes_than_trained() -> None:
    from cloud_api.domain.assessments.scene.frames import ClipInfo, _caveats

    info = ClipInfo(frame_count=300, duration_s=10.0, fps=30.0, width=1280, height=720)
    nominal = round(features.DECODE_PRE_S * features.RATE_HZ)
    calm = features.window(grid_stack(nominal), nominal)
    assert _caveats(calm, 5.0, info) == []
    assert "repeated edge frames" in _caveats(calm, 1.2, info)[0]
    assert "repeated edge frames" in _caveats(calm, 9.5, info)[0]
    busy = calm + np.random.default_rng(1).normal(0, 12, calm.shape).astype(np.float32)
    (caveat,) = _caveats(busy, 5.0, info)
    assert "busier scene than the model knows" in caveat
