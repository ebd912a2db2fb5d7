# Temporary alias while helpers land; removed at integration (use deploy.localstack).
from deploy.localstack import MosquittoBroker, free_port, mosquitto_binary  # noqa: F401
