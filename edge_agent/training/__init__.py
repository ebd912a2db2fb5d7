"""Trains the miners' models on generated drives (and augmented real sounds), exports ONNX, quantizes INT8.

Needs the ``train`` extra (torch); the edge runtime never imports this package.
"""
