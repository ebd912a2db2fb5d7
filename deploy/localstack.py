"""The whole stack on one machine as real processes: a private Mosquitto, the cloud service, the edge agent.

Used by ``just demo`` (deploy/demo.py) and by the end-to-end tests, so both exercise the same start-up.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def mosquitto_binary() -> str | None:
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(p).exists()), None
    )


class MosquittoBroker:
    """Runs ``mosquitto -c <conf>`` on 127.0.0.1:<port>; ``stop()`` / ``start()`` simulate an outage.

    ``extra_config`` lines are appended (e.g. password_file / acl_file); persistence is on so a
    restart keeps persistent sessions, as a real deployment would.
    """

    def __init__(self, workdir: Path, port: int | None = None, extra_config: str = "") -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.conf = self.workdir / "mosquitto.conf"
        self.log = self.workdir / "mosquitto.log"
        allow_anonymous = "false" if "password_file" in extra_config else "true"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            f"allow_anonymous {allow_anonymous}\n"
            "persistence true\n"
            f"persistence_location {self.workdir}/\n"
            f"log_dest file {self.log}\n"
            "log_type error\nlog_type warning\nlog_type notice\n"
            "max_inflight_messages 100\n"
            "max_queued_messages 100000\n"
            f"{extra_config}\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        binary = mosquitto_binary()
        if binary is None:
            raise RuntimeError("mosquitto is not installed (apt-get install mosquitto)")
        self.proc = subprocess.Popen([binary, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"mosquitto exited: {err} {self.log.read_text() if self.log.exists() else ''}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not listen on {self.port} within {timeout}s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __enter__(self) -> "MosquittoBroker":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _bin(name: str) -> str:
    """A console script of this project, from the same environment as the running interpreter."""
    candidate = Path(sys.executable).with_name(name)
    return str(candidate) if candidate.exists() else name


def run_cli(name: str, *args: str, env: Mapping[str, str] | None = None, timeout: float = 300) -> str:
    """Run ``edge-agent`` / ``cloud-api`` to completion; return stdout, raise with stderr on failure."""
    proc = subprocess.run(
        [_bin(name), *args], env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=timeout
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{name} {' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-4000:]}")
    return proc.stdout


class CloudService:
    """``cloud-api serve`` on a free port with its own data folder, database and broker URL."""

    def __init__(self, data_dir: Path, broker_url: str, database_url: str | None = None, port: int | None = None):
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.log = self.data_dir / "cloud-api.log"
        self.env = {
            "DATA_DIR": str(self.data_dir),
            "DATABASE_URL": database_url or f"sqlite:///{self.data_dir / 'claims.db'}",
            "MQTT_URL": broker_url,
        }
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str) -> str:
        return run_cli("cloud-api", *args, env=self.env)

    def create_key(self, scopes: str = "read,write") -> str:
        """A new API key: ``keys create`` prints it alone on its last line."""
        return self.cli("keys", "create", "--scopes", scopes).strip().splitlines()[-1]

    def start(self, timeout: float = 60.0) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [_bin("cloud-api"), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env={**os.environ, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"cloud-api exited {self.proc.returncode}:\n{self.log.read_text()[-4000:]}")
            try:
                if httpx.get(f"{self.base_url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"cloud-api did not answer /health within {timeout}s:\n{self.log.read_text()[-4000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __enter__(self) -> "CloudService":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def provision_device(cloud: CloudService, device_id: str, edge_data_dir: Path) -> None:
    """Create the device key on the edge side and register its public key with the cloud."""
    edge_data_dir.mkdir(parents=True, exist_ok=True)
    public_key = edge_data_dir / "device_public_key.pem"
    run_cli("edge-agent", "keys", "--data-dir", str(edge_data_dir), "--out", str(public_key))
    cloud.cli("devices", "add", device_id, "--public-key", str(public_key))


def run_edge_agent(
    source: Path, device_id: str, broker_url: str, data_dir: Path, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``edge-agent run --exit-when-idle``: mine the file, deliver every clip, exit once acked."""
    return subprocess.run(
        [
            _bin("edge-agent"),
            "run",
            "--source", str(source),
            "--device-id", device_id,
            "--broker", broker_url,
            "--data-dir", str(data_dir),
            "--exit-when-idle",
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def wait_for(predicate, timeout: float, interval: float = 1.5, what: str = "condition"):  # type: ignore[no-untyped-def]
    """Poll ``predicate`` until it returns something truthy; return that value.

    The default interval keeps a REST poller under the API's 60 requests a minute per key.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
