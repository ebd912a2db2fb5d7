"""Inference factory and shipped models: provider order, thread settings, INT8 vs FP32, build-engines."""

from __future__ import annotations

import importlib.util
from functools import cache

import numpy as np
import onnxruntime as ort
import pytest

from edge_agent.cli import main
from edge_agent.inference import ModelRunner, open_session, preferred_providers
from edge_agent.models import MODELS_DIR, model_path, shipped_models
from edge_agent.sample.scenarios import Scenario, build_scenario
from edge_agent.training.data import drive_examples

MODELS = ("motion-mlp-int8", "audio-cnn-int8", "proximity-mlp-int8")


def test_providers_are_tensorrt_then_cuda_then_cpu_filtered_to_what_exists() -> None:
    available = ["CPUExecutionProvider", "AzureExecutionProvider", "TensorrtExecutionProvider"]
    assert preferred_providers(available) == ["TensorrtExecutionProvider", "CPUExecutionProvider"]
    assert preferred_providers(["CUDAExecutionProvider", "CPUExecutionProvider"]) == [
        "CUDAExecutionProvider",
        "CPUExecutionProvider",
    ]
    assert preferred_providers([]) == ["CPUExecutionProvider"]
    assert preferred_providers() == [p for p in preferred_providers() if p in ort.get_available_providers()]


def test_session_is_single_threaded_and_sequential() -> None:
    session = open_session(model_path("motion-mlp-int8"))
    options = session.get_session_options()
    assert options.intra_op_num_threads == 1 and options.inter_op_num_threads == 1
    assert options.execution_mode == ort.ExecutionMode.ORT_SEQUENTIAL


def test_every_shipped_model_is_int8_qdq_small_and_gives_probabilities() -> None:
    assert sorted(p.stem for p in shipped_models()) == sorted(MODELS)
    rng = np.random.default_rng(0)
    for name in MODELS:
        path = model_path(name)
        assert path.stat().st_size < 200_000
        raw = path.read_bytes()  # op types are plain strings in the protobuf: no onnx package needed
        assert b"QuantizeLinear" in raw and b"DequantizeLinear" in raw
        runner = ModelRunner(path)
        shape = [4, *runner.input_shape[1:]]
        out = runner.run(rng.normal(0, 1, shape).astype(np.float32))
        assert out.shape[0] == 4 and np.all((out >= 0) & (out <= 1))


@cache
def drive_inputs() -> dict[str, np.ndarray]:
    """The inputs the miners compute on a generated crash drive and a normal one."""
    rows: dict[str, list[np.ndarray]] = {}
    for kind, event in (("rear_end", 7.0), ("normal", None)):
        drive = build_scenario(Scenario(kind=kind, seed=910_000, duration_s=12.0, event_s=event))  # type: ignore[arg-type]
        for miner, examples in drive_examples(drive, accel=True).items():
            rows.setdefault(miner, []).extend(x for x, _ in examples)
    return {k: np.stack(v) for k, v in rows.items()}


@pytest.mark.parametrize(
    ("miner", "name"), [("motion", MODELS[0]), ("audio", MODELS[1]), ("proximity", MODELS[2])]
)
def test_int8_agrees_with_its_fp32_reference_on_miner_inputs(miner: str, name: str) -> None:
    fp32 = MODELS_DIR / f"{name.removesuffix('-int8')}-fp32.onnx"
    int8, ref = ModelRunner(model_path(name)), ModelRunner(fp32)
    x = drive_inputs()[miner]
    p8, p32 = int8.run(x), ref.run(x)
    assert float(np.abs(p8 - p32).mean()) < 0.03
    assert float(((p8 >= 0.5) == (p32 >= 0.5)).mean()) >= 0.95


def test_missing_model_names_the_fix() -> None:
    with pytest.raises(FileNotFoundError, match="just train-models"):
        model_path("no-such-model")


@pytest.mark.skipif(importlib.util.find_spec("tensorrt") is not None, reason="TensorRT is installed here")
def test_build_engines_says_clearly_that_tensorrt_is_missing(
    capsys: pytest.CaptureFixture[str], tmp_path
) -> None:
    assert main(["build-engines", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "TensorRT is not installed" in err and "JetPack 6" in err
    assert list(tmp_path.iterdir()) == []
