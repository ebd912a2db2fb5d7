"""Native TensorRT 10 engines for the shipped models, built on the device that will run them.

A TensorRT engine is specific to the GPU and TensorRT version, so it cannot be committed: a Jetson
builds it once (``edge-agent build-engines``) from the committed ONNX files. ``tensorrt`` is imported
only here and only when asked for, so the agent runs without it everywhere else.
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import ModuleType

log = logging.getLogger(__name__)


class TensorRTUnavailable(RuntimeError):
    """TensorRT's Python package cannot be imported on this machine."""


def _import_tensorrt() -> ModuleType:
    try:
        import tensorrt
    except ImportError as exc:
        raise TensorRTUnavailable(
            "TensorRT is not installed here (import tensorrt failed: "
            f"{exc}). Build engines on the Jetson itself: JetPack 6 ships TensorRT 10 "
            "(python3-libnvinfer); without engines the agent runs the same ONNX models on onnxruntime."
        ) from None
    return tensorrt


def build_engine(onnx_path: Path, out_dir: Path, fp16: bool = True) -> Path:
    """Parse ``onnx_path`` and serialise an engine next to it in ``out_dir``; INT8 QDQ nodes are kept."""
    trt = _import_tensorrt()
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)  # TensorRT 10: networks are always explicit-batch
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(onnx_path.read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise RuntimeError(f"{onnx_path.name}: TensorRT cannot parse it: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, 64 << 20)
    config.set_flag(trt.BuilderFlag.INT8)  # honours the explicit QDQ scales from calibration
    if fp16:
        config.set_flag(trt.BuilderFlag.FP16)  # layers left in float run in half precision
    engine = builder.build_serialized_network(network, config)
    if engine is None:
        raise RuntimeError(f"{onnx_path.name}: TensorRT build failed")
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / (onnx_path.stem + ".engine")
    out.write_bytes(bytes(engine))
    log.info("tensorrt.engine_built model=%s engine=%s bytes=%d", onnx_path.name, out, out.stat().st_size)
    return out


def build_engines(models: list[Path], out_dir: Path) -> list[Path]:
    """Engines for every model; raises TensorRTUnavailable before touching anything when TRT is absent."""
    _import_tensorrt()
    return [build_engine(m, out_dir) for m in models]
