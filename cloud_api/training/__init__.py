"""Training for the cloud's local scene model (``python -m cloud_api.training``); torch is imported only by
train.py, model.py and __main__.py, never by the server."""
