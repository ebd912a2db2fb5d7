"""Model runtime for the edge: onnxruntime sessions (TensorRT -> CUDA -> CPU) and TensorRT engine builds."""

from edge_agent.inference.session import ModelRunner, SessionOptions, open_session, preferred_providers

__all__ = ["ModelRunner", "SessionOptions", "open_session", "preferred_providers"]
