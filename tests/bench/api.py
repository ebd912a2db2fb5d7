"""REST API latency at 100k claims on PostgreSQL, and a 100 MB upload.

A dedicated database (created and dropped here) is migrated and filled by COPY with 100k claims (70 %
reviewed, 20 % awaiting review, the rest queued / processing / failed), their assessments and reviews.
The API runs as its own uvicorn process (uvloop, httptools, no access log, workers and ingest off so
only the API uses the CPU, rate limit lifted: the bench measures the API, not the limiter). A load
generator on loopback keeps 64 HTTP/1.1 keep-alive connections busy (closed loop) and records every
latency: p50 / p99 / throughput for ``GET /claims/{id}/status``, ``GET /claims/{id}/assessment`` and
``GET /reviews/queue?limit=100``, first at saturation (closed loop), then open loop at 25 / 50 / 75 % of
that throughput. Then a 100 MB MP4 is uploaded three times (different bytes each time).
First the same generator runs against a server that answers at once ("floor"): what the machine and
the generator add to every latency by themselves.

Targets: status p99 <= 10 ms, queue p99 <= 30 ms. The figures depend on the machine and on what else
runs on it: the load average is printed with them.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import uvloop

from tests.bench.api_load import CONNECTIONS, load, report
from tests.support.postgres import ADMIN_DSN, postgres_available

CLAIMS = int(os.environ.get("BENCH_API_CLAIMS", "100000"))
SECONDS = float(os.environ.get("BENCH_API_SECONDS", "15"))
WARMUP_S = 3.0
OPEN_LOOP_SHARES = (0.25, 0.5, 0.75)  # open-loop rates, as shares of the closed-loop throughput: where the
# latency targets hold as the load rises towards saturation
UPLOAD_MB = 100
STATUSES = (("REVIEWED", 0.70), ("ASSESSED", 0.20), ("QUEUED", 0.05), ("PROCESSING", 0.03), ("FAILED", 0.02))
PRIORITIES = (("URGENT", 0, 0.15), ("STANDARD", 1, 0.50), ("LOW_PRIORITY", 2, 0.35))
SEVERITIES = ("NONE", "LOW", "MEDIUM", "HIGH")


def _assessment_body(claim_id: str, rng: random.Random, priority: str) -> str:
    import msgspec

    from cloud_api.db.helpers import to_json
    from cloud_api.domain.assessments.schemas import AssessmentOut

    probs = [rng.random() for _ in SEVERITIES]
    total = sum(probs)
    probs = [p / total for p in probs]
    severity = SEVERITIES[probs.index(max(probs))]
    body = {
        "claim_id": claim_id,
        "severity": severity,
        "confidence": max(probs),
        "prediction_set": [severity],
        "review_priority": priority,
        "fault_assessment": {"fault_ratio": 50.0, "rule": "no-rule", "confidence": 0.1, "reasoning": "bench"},
        "fraud_risk_score": round(rng.random() * 0.8, 3),
        "fraud_reasons": [],
        "hazards": ["vehicle ahead"],
        "evidence": [{"t_s": 1.5, "what": "impact peak"}],
        "narrative": "bench data: a synthetic assessment of realistic size " + "x" * 300,
        "scenario": "rear_end",
        "processing_time_sec": 2.5,
        "model": "bench",
        "severity_probabilities": dict(zip(SEVERITIES, probs, strict=True)),
        "coverage_target": 0.9,
        "calibrated": False,
    }
    return to_json(msgspec.convert(body, AssessmentOut))  # fails loudly if the schema moved on


def _pick(rng: random.Random, table: tuple) -> tuple:
    x, acc = rng.random(), 0.0
    for row in table:
        acc += row[-1]
        if x < acc:
            return row
    return table[-1]


async def _fill(dsn: str, rng: random.Random) -> tuple[list[str], list[str]]:
    """COPY the claims, assessments and reviews; returns (all claim ids, assessed claim ids)."""
    from cloud_api.domain.reviews.coverage import label_in_set

    now = datetime.now(UTC)
    claims, assessments, reviews, ids, assessed = [], [], [], [], []
    for i in range(CLAIMS):
        claim_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        status = _pick(rng, STATUSES)[0]
        received = now - timedelta(seconds=rng.uniform(0, 90 * 86400))
        sha = f"{rng.getrandbits(256):064x}"
        claims.append(
            (
                claim_id,
                f"CLM-B-{i:07d}",
                "device",
                f"dev-{i % 500:04d}",
                f"inc-{i:07d}",
                None,
                f"clips/{sha}.mp4",
                sha,
                4_000_000,
                status,
                100 if status in {"ASSESSED", "REVIEWED"} else 0,
                "bench failure" if status == "FAILED" else None,
                received,
                received,
                "{}",
            )
        )
        ids.append(claim_id)
        if status in {"ASSESSED", "REVIEWED"}:
            priority, rank, _ = _pick(rng, PRIORITIES)
            created = received + timedelta(seconds=30)
            body = _assessment_body(claim_id, rng, priority)
            assessments.append(
                (
                    claim_id,
                    "MEDIUM",
                    rng.random(),
                    priority,
                    rank,
                    rng.random() * 0.8,
                    50.0,
                    "bench",
                    body,
                    created,
                )
            )
            assessed.append(claim_id)
            if status == "REVIEWED":
                decision = rng.choice(("APPROVE", "APPROVE", "APPROVE", "REJECT", "REQUEST_MORE_INFO"))
                in_set = None if decision == "REQUEST_MORE_INFO" else label_in_set({}, "MEDIUM", body)
                reviews.append(
                    (claim_id, decision, "bench", "bench", "{}", created + timedelta(hours=2), in_set)
                )
    conn = await asyncpg.connect(dsn)
    try:
        await conn.copy_records_to_table(
            "claims",
            records=claims,
            columns=[
                "id",
                "claim_number",
                "source",
                "device_id",
                "incident_id",
                "upload_sha256",
                "video_key",
                "video_sha256",
                "size_bytes",
                "status",
                "progress_percent",
                "error",
                "received_at",
                "updated_at",
                "metadata",
            ],
        )
        await conn.copy_records_to_table(
            "assessments",
            records=assessments,
            columns=[
                "claim_id",
                "severity",
                "confidence",
                "review_priority",
                "priority_rank",
                "fraud_risk_score",
                "fault_ratio",
                "model",
                "body",
                "created_at",
            ],
        )
        await conn.copy_records_to_table(
            "reviews",
            records=reviews,
            columns=[
                "claim_id",
                "decision",
                "reviewer_id",
                "reasoning",
                "overrides",
                "created_at",
                "label_in_set",
            ],
        )
        await conn.execute("VACUUM ANALYZE")  # the steady state autovacuum keeps: visibility map, statistics
    finally:
        await conn.close()
    return ids, assessed


async def _prepare(url: str) -> list[str]:
    """Migrate the bench database through the app's own code and make one API key per connection."""
    from cloud_api.db.engine import close_database, configure_database, open_database
    from cloud_api.db.migrate import migrate
    from cloud_api.domain.apikeys.schemas import Scope
    from cloud_api.domain.apikeys.services import ApiKeyService
    from cloud_api.domain.audit.services import AuditService

    engine = configure_database(url)
    await open_database(engine)
    try:
        await migrate()
        service = ApiKeyService(AuditService())
        return [
            (await service.create((Scope.READ, Scope.WRITE), name=f"bench-{n}")).key
            for n in range(CONNECTIONS)
        ]
    finally:
        await close_database(engine)


def _big_mp4(dest: Path, size_mb: int, salt: bytes) -> None:
    """A real MP4 (2 s of H.264) followed by a top-level ``free`` box: a valid file of ``size_mb``."""
    from tests.integration.cloud.support import write_mp4

    small = write_mp4(dest.with_suffix(".small.mp4"), lambda i: (i * 7) % 255, seconds=2.0, size=128)
    pad = size_mb * 1024 * 1024 - len(small)
    with dest.open("wb") as out:
        out.write(small)
        out.write(struct.pack(">I4s", pad, b"free") + salt)
        block = os.urandom(1024 * 1024)
        remaining = pad - 8 - len(salt)
        while remaining > 0:
            out.write(block[: min(len(block), remaining)])
            remaining -= len(block)


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _uploads(base: str, key: str, tmp: Path, pid: int) -> None:
    print(
        f"upload       {UPLOAD_MB} MB MP4 (real H.264 + free box), 3 runs, server peak RSS before: "
        f"{_peak_rss_mb(pid):.0f} MB",
        flush=True,
    )
    for run in range(3):
        video = tmp / f"big-{run}.mp4"
        _big_mp4(video, UPLOAD_MB, uuid.uuid4().bytes)
        with video.open("rb") as fh, httpx.Client(timeout=300) as client:
            start = time.perf_counter()
            response = client.post(
                f"{base}/claims/upload", files={"video": ("big.mp4", fh)}, headers={"X-API-Key": key}
            )
            took = time.perf_counter() - start
        video.unlink()
        print(
            f"  run {run + 1}: HTTP {response.status_code} in {took:.2f} s ({UPLOAD_MB / took:.0f} MB/s), "
            f"server peak RSS {_peak_rss_mb(pid):.0f} MB",
            flush=True,
        )


def main() -> None:
    if not postgres_available():
        print("api bench skipped: PostgreSQL does not answer on 127.0.0.1:5432")
        return
    print(f"load before: {os.getloadavg()}  cpus: {os.cpu_count()}", flush=True)
    name = f"dashclaim_bench_{uuid.uuid4().hex[:10]}"
    url = ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(ADMIN_DSN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    server: subprocess.Popen[bytes] | None = None
    try:
        with tempfile.TemporaryDirectory(prefix="dashclaim-bench-api-") as tmp_dir:
            tmp = Path(tmp_dir)
            keys = asyncio.run(_prepare(url))
            started = time.perf_counter()
            ids, assessed = asyncio.run(_fill(url, random.Random(7)))
            print(
                f"data         {len(ids)} claims, {len(assessed)} assessments in PostgreSQL "
                f"({time.perf_counter() - started:.1f} s by COPY)",
                flush=True,
            )
            server, port = _start_server(url, tmp)
            rng = random.Random(11)
            runs = (
                ("status", [f"/claims/{c}/status" for c in rng.sample(ids, min(20_000, len(ids)))], 10.0),
                (
                    "assessment",
                    [f"/claims/{c}/assessment" for c in rng.sample(assessed, min(20_000, len(assessed)))],
                    None,
                ),
                (
                    "queue",
                    [f"/reviews/queue?limit=100&offset={rng.randrange(0, 1000, 100)}" for _ in range(100)],
                    30.0,
                ),
            )
            print(
                f"load         {CONNECTIONS} connections (one key each), {SECONDS:g} s per run after "
                f"{WARMUP_S:g} s warm-up; closed loop (saturation), then open loop at "
                + ", ".join(f"{share:.0%}" for share in OPEN_LOOP_SHARES)
                + " of that rate",
                flush=True,
            )
            _floor(keys)
            for label, paths, target in runs:
                uvloop.run(load(port, keys, paths, WARMUP_S))
                latencies, statuses = uvloop.run(load(port, keys, paths, SECONDS))
                report(f"{label} max", latencies, statuses, SECONDS, None)
                saturation = len(latencies) / SECONDS
                for share in OPEN_LOOP_SHARES:
                    rate = max(1.0, saturation * share)
                    latencies, statuses = uvloop.run(load(port, keys, paths, SECONDS, rate))
                    report(f"{label} @{rate:.0f}/s", latencies, statuses, SECONDS, target)
            started = time.perf_counter()
            scrape = httpx.get(
                f"http://127.0.0.1:{port}/metrics", headers={"X-API-Key": keys[0]}, timeout=300
            )
            print(
                f"metrics      one /metrics scrape at {len(ids)} claims: HTTP {scrape.status_code} in "
                f"{(time.perf_counter() - started) * 1000:.0f} ms",
                flush=True,
            )
            _uploads(f"http://127.0.0.1:{port}", keys[0], tmp, server.pid)
            print(f"load after:  {os.getloadavg()}", flush=True)
    finally:
        if server is not None:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


_TRIVIAL_SERVER = """
import asyncio, sys, uvloop
async def answer(reader, writer):
    try:
        while True:
            await reader.readuntil(b"\\r\\n\\r\\n")
            writer.write(b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok")
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()
async def main():
    server = await asyncio.start_server(answer, "127.0.0.1", int(sys.argv[1]))
    async with server:
        await server.serve_forever()
uvloop.run(main())
"""


def _floor(keys: list[str]) -> None:
    """The generator against a server that answers at once: what the machine and the generator alone
    add to every latency below (scheduling, loopback, the generator's own event loop)."""
    from deploy.localstack import free_port

    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", _TRIVIAL_SERVER, str(port)])
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        for rate in (250.0, 50.0):
            latencies, statuses = uvloop.run(load(port, keys, ["/"], SECONDS / 3, rate))
            report(f"floor @{rate:.0f}/s", latencies, statuses, SECONDS / 3, None)
    finally:
        server.kill()
        server.wait()


def _start_server(url: str, tmp: Path) -> tuple[subprocess.Popen[bytes], int]:
    from deploy.localstack import free_port

    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DATA_DIR": str(tmp / "cloud"),
        "INGEST_ENABLED": "false",
        "WORKER_ENABLED": "false",
        "RATE_LIMIT_PER_MINUTE": "100000000",
        "MAX_UPLOAD_SIZE_MB": str(UPLOAD_MB + 50),
    }
    log = (tmp / "server.log").open("wb")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "cloud_api.server.asgi:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"API server exited: {(tmp / 'server.log').read_text()[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code in {200, 503}:
                return server, port
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("API server did not start in 60 s")
