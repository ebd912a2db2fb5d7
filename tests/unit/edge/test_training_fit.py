"""The edge training loop: reproducible across processes, and what it learns survives ONNX and INT8."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch", reason="the train extra (torch) is not installed")

# Each run is a fresh interpreter: torch seeds its default generator randomly per process, which is
# exactly what made two identical training runs give different motion models.
_PRINT_WEIGHTS_HASH = """
import hashlib
digest = hashlib.sha256()
for value in model.state_dict().values():
    digest.update(value.numpy().tobytes())
print(digest.hexdigest())
"""
FIT_AND_HASH = (
    """
import numpy as np
from edge_agent.training.__main__ import fit
from edge_agent.training.nets import WindowMLP
rng = np.random.default_rng(3)
x = rng.normal(size=(600, 4, 3)).astype(np.float32)
y = (x[:, :, 0].mean(1, keepdims=True) > 0.3).astype(np.float32)
model = fit(lambda: WindowMLP(4, 3), x, y, epochs=3, seed=1)
"""
    + _PRINT_WEIGHTS_HASH
)


# The audio CNN's convolutions: the kernels torch picks for them differ by instruction set.
FIT_CNN_AND_HASH = (
    """
import numpy as np
from edge_agent.training.__main__ import fit
from edge_agent.training.nets import LogMelCNN
rng = np.random.default_rng(4)
x = rng.normal(size=(256, 1, 50, 32)).astype(np.float32)
y = (rng.uniform(size=(256, 4)) < 0.3).astype(np.float32)
model = fit(lambda: LogMelCNN(4), x, y, epochs=2, seed=1)
"""
    + _PRINT_WEIGHTS_HASH
)


def _fit_in_fresh_process(script: str = FIT_AND_HASH, env: dict[str, str] | None = None) -> str:
    run_env = {**os.environ, **(env or {})}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=run_env
    )
    return done.stdout.strip()


def test_two_runs_train_the_same_weights() -> None:
    assert _fit_in_fresh_process() == _fit_in_fresh_process()


def test_the_cnn_trains_the_same_weights_whatever_instruction_set_onednn_may_use() -> None:
    """Capping oneDNN at AVX2 changed the audio model on an AVX-512 machine; training must not use it.

    On a machine without AVX-512 both runs use the same kernels anyway, and this cannot tell.
    """
    capped = _fit_in_fresh_process(FIT_CNN_AND_HASH, {"ONEDNN_MAX_CPU_ISA": "AVX2"})
    assert _fit_in_fresh_process(FIT_CNN_AND_HASH) == capped


def test_a_learned_rule_survives_export_and_int8(tmp_path: Path) -> None:
    import onnx

    from edge_agent.training.__main__ import fit
    from edge_agent.training.export import export_fp32, metrics, predict, quantize_int8
    from edge_agent.training.nets import WindowMLP

    rng = np.random.default_rng(5)
    x = rng.normal(size=(2000, 4, 3)).astype(np.float32)
    y = (x[:, :, 0].mean(1, keepdims=True) > 0.5).astype(np.float32)
    model = fit(lambda: WindowMLP(4, 3), x[:1500], y[:1500], epochs=15, seed=1)
    fp32 = export_fp32(model, x[0], tmp_path / "rule-fp32.onnx")
    int8 = quantize_int8(fp32, tmp_path / "rule-int8.onnx", x[:200])
    held_x, held_y = x[1500:], y[1500:]
    p32, p8 = predict(fp32, held_x), predict(int8, held_x)
    assert metrics(p32, held_y)["c0_auc"] > 0.97
    assert metrics(p8, held_y)["c0_auc"] > 0.95
    ops = {node.op_type for node in onnx.load(str(int8)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops


def test_a_mean_of_seeds_is_one_graph_that_averages_its_members(tmp_path: Path) -> None:
    import torch

    from edge_agent.training.__main__ import fit
    from edge_agent.training.export import export_fp32, predict
    from edge_agent.training.nets import MeanOf, WindowMLP

    rng = np.random.default_rng(7)
    x = rng.normal(size=(400, 4, 3)).astype(np.float32)
    y = (x[:, :, 1].mean(1, keepdims=True) > 0.0).astype(np.float32)
    members = [fit(lambda: WindowMLP(4, 3), x, y, epochs=2, seed=seed) for seed in (1, 2, 3)]
    each = [member(torch.from_numpy(x)).detach().numpy() for member in members]
    assert not np.allclose(each[0], each[1])  # different seeds: different nets
    graph = export_fp32(MeanOf(members).eval(), x[0], tmp_path / "mean-fp32.onnx")
    np.testing.assert_allclose(predict(graph, x), np.mean(each, axis=0), atol=1e-5)
