"""Broker credentials for devices: entries in Mosquitto's password file, and the reload that applies them.

The entry format is mosquitto_passwd's own (``user:$7$<iterations>$<salt b64>$<PBKDF2-SHA512 b64>``,
101 iterations and a 12-byte salt, as mosquitto_passwd 2.0 writes them), made here so provisioning
needs no binary and can rewrite the file atomically under a lock. The broker reads the file (and its
ACL) at start and on SIGHUP; ``reload_broker`` sends that signal when MQTT_BROKER_PID_FILE is set.
The ACL itself is static: deploy/mosquitto/acl grants every device, by its user name, its own subtree.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import logging
import os
import secrets
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

ITERATIONS = 101
SALT_BYTES = 12


def hash_entry(username: str, password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, ITERATIONS)
    return f"{username}:$7${ITERATIONS}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_entry(entry: str, password: str) -> bool:
    """Check ``password`` against one ``user:$7$...`` line (what the broker does on CONNECT)."""
    _, _, hashed = entry.partition(":")
    parts = hashed.split("$")
    if len(parts) != 5 or parts[1] != "7":
        return False
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), base64.b64decode(parts[3]), int(parts[2]))
    return secrets.compare_digest(base64.b64encode(digest).decode(), parts[4])


class PasswordFile:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @contextmanager
    def _locked(self) -> Iterator[dict[str, str]]:
        """The entries by user, locked against a concurrent ``devices add``; written back atomically."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            entries = self.entries()
            yield entries
            tmp = self.path.with_name(self.path.name + ".tmp")
            with open(tmp, "w") as fh:
                fh.writelines(line + "\n" for line in entries.values())
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o640)
            os.replace(tmp, self.path)

    def entries(self) -> dict[str, str]:
        if not self.path.exists():
            return {}
        lines = (line.strip() for line in self.path.read_text().splitlines())
        return {line.partition(":")[0]: line for line in lines if line and not line.startswith("#")}

    def set(self, username: str, password: str | None = None) -> str:
        """Create or replace ``username``'s entry; returns the password (generated when not given)."""
        password = password or secrets.token_urlsafe(24)
        with self._locked() as entries:
            entries[username] = hash_entry(username, password)
        log.info("broker.credentials_set user=%s file=%s", username, self.path)
        return password

    def remove(self, username: str) -> bool:
        with self._locked() as entries:
            removed = entries.pop(username, None) is not None
        log.info("broker.credentials_removed user=%s removed=%s", username, removed)
        return removed


def reload_broker(pid_file: Path | None) -> bool:
    """SIGHUP the broker so it rereads password file and ACL; False when no pid file is configured."""
    if pid_file is None:
        return False
    pid = int(Path(pid_file).read_text().strip())
    os.kill(pid, signal.SIGHUP)
    log.info("broker.reloaded pid=%d", pid)
    return True
