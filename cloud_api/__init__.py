"""Cloud side of dashclaim: MQTT ingest, assessment jobs and the REST API in one Litestar service."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dashclaim")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
