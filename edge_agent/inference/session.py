"""onnxruntime sessions for the miners' small models, set up for a small CPU or a Jetson.

Providers are tried TensorRT -> CUDA -> CPU, keeping only those this onnxruntime build offers, so the
same code runs on an x86 dev box (CPU) and on JetPack 6 (TensorRT EP with its engine cache). Thread
counts default to one and execution is sequential: the models are tiny and run at 10 Hz beside the
video decoder, so extra threads would only steal the decoder's core.
"""

from __future__ import annotations

import logging
from pathlib import Path

import msgspec
import numpy as np
import onnxruntime as ort

log = logging.getLogger(__name__)

_ORDER = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")


class SessionOptions(msgspec.Struct, frozen=True, kw_only=True):
    intra_op_threads: int = 1
    inter_op_threads: int = 1
    trt_cache_dir: str | None = None  # where the TensorRT EP keeps the engines it builds (Jetson)


def preferred_providers(available: list[str] | None = None) -> list[str]:
    """TensorRT, CUDA, CPU in that order, filtered to what this onnxruntime build has."""
    have = set(ort.get_available_providers() if available is None else available)
    return [p for p in _ORDER if p in have] or ["CPUExecutionProvider"]


def open_session(model: Path, options: SessionOptions | None = None) -> ort.InferenceSession:
    options = options or SessionOptions()
    so = ort.SessionOptions()
    so.intra_op_num_threads = options.intra_op_threads
    so.inter_op_num_threads = options.inter_op_threads
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3  # warnings about unused providers are noise on a device log
    providers: list[str | tuple[str, dict[str, str]]] = []
    for name in preferred_providers():
        if name == "TensorrtExecutionProvider" and options.trt_cache_dir:
            trt = {"trt_engine_cache_enable": "True", "trt_engine_cache_path": options.trt_cache_dir}
            providers.append((name, trt))
        else:
            providers.append(name)
    session = ort.InferenceSession(str(model), sess_options=so, providers=providers)
    log.info("inference.session model=%s providers=%s", model.name, session.get_providers())
    return session


class ModelRunner:
    """One model with a single float32 input and a single output; ``run`` takes a batch."""

    def __init__(self, model: Path, options: SessionOptions | None = None) -> None:
        self.path = model
        self.session = open_session(model, options)
        self._input = self.session.get_inputs()[0].name
        self.input_shape = tuple(self.session.get_inputs()[0].shape)

    def run(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self._input: np.ascontiguousarray(batch, np.float32)})[0]
