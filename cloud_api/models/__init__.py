"""The cloud's committed models (written by ``python -m cloud_api.training``); see MODEL_CARD.md."""
