"""Ingest throughput: N simulated devices through a real mosquitto into stored claims.

The cloud runs as its own process (``cloud-api serve``, ingest on, assessment workers off so the bench
measures ingest), on SQLite or PostgreSQL, with a local blob folder. Devices are paho clients in
separate processes (so their CPU is not the cloud's GIL): each sends its clips one after the other,
like the edge outbox, a signed manifest then the chunks at QoS 1, and waits for the COMPLETE ack before
the next clip. Every clip is different random bytes (no dedup shortcuts); manifests, signatures and
payloads are built before the clock starts.

Figures: clips/s and MB/s from the first manifest to the last COMPLETE, and last-chunk-to-claim latency
(the device published its last chunk -> it received COMPLETE with the claim id) p50 / p99. Loss check:
every clip must be acked COMPLETE, and the claims in the database must be exactly the clips sent (one
per incident, sha256 equal). Target on a 2-core machine: >= 100 MB/s and >= 50 clips/s of 2 MB.
Other work on the machine slows it: the load average is printed next to the figures, and so are the
CPU seconds the cloud, the broker and the device processes used meanwhile (MB per cloud CPU-second is
the figure that does not depend on how busy the machine is; PostgreSQL's own processes are not counted),
and, on a virtual machine, the CPU time the hypervisor gave to others meanwhile (steal).

    python -m tests.bench ingest      # 20 devices x 10 clips, chunks of 1,000,000 B, SQLite
    BENCH_INGEST_DEVICES=50 BENCH_INGEST_CLIPS=4 BENCH_INGEST_CHUNK_KB=256 BENCH_INGEST_DB=postgres \
        python -m tests.bench ingest
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from deploy.localstack import CloudService, MosquittoBroker

CLIP_BYTES = 2 * 1024 * 1024


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _device_worker(
    port: int, device_ids: list[str], clips: int, chunk: int, seed: int, out: Any, go: Any
) -> None:
    """One process, several devices (threads): builds its clips, reports its keys, waits for ``go``, sends."""
    import random
    import threading

    from tests.integration.cloud.fleet_support import FleetDevice

    devices = [FleetDevice(port, d) for d in device_ids]
    for d in devices:
        d.wait_connected()
    rng = random.Random(seed)
    plans = {
        d.device_id: [d.manifest(f"bench-{n}", rng.randbytes(CLIP_BYTES), chunk) for n in range(clips)]
        for d in devices
    }
    out.put(
        ("ready", [(d.device_id, d.public_pem, [m.sha256 for m, _ in plans[d.device_id]]) for d in devices])
    )
    go.wait()

    def run(device: FleetDevice) -> None:
        for manifest, chunks in plans[device.device_id]:
            device.send_manifest(manifest)
            for seq, data in enumerate(chunks):
                device.send_chunk(manifest, seq, data)
            last = time.monotonic()
            try:
                ack = device.next_ack(120)
            except AssertionError:
                out.put(("lost", device.device_id, manifest.incident_id, 0.0, time.time()))
                return
            out.put(("ack", device.device_id, ack.status.value, time.monotonic() - last, time.time()))

    threads = [threading.Thread(target=run, args=(d,)) for d in devices]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for d in devices:
        d.close()


async def _register(database_url: str, keys: list[tuple[str, str]]) -> None:
    from cloud_api.db.engine import close_database, configure_database, open_database
    from cloud_api.domain.devices.services import DeviceService

    engine = configure_database(database_url)
    await open_database(engine)
    try:
        for device_id, pem in keys:
            await DeviceService().register(device_id, pem)
    finally:
        await close_database(engine)


async def _stored(database_url: str) -> list[tuple[str, str, str]]:
    from cloud_api.db.engine import close_database, configure_database, open_database
    from cloud_api.domain.claims.tables import Claim

    engine = configure_database(database_url)
    await open_database(engine)
    try:
        rows = await Claim.select(Claim.device_id, Claim.incident_id, Claim.video_sha256).run()
    finally:
        await close_database(engine)
    return [(r["device_id"], r["incident_id"], r["video_sha256"]) for r in rows]


def _cpu_seconds(parts: dict[str, list[int]]) -> dict[str, float]:
    """user and system CPU time of each group of processes (the machine is shared: wall time misleads)."""
    import psutil

    totals: dict[str, float] = {}
    for name, pids in parts.items():
        for pid in pids:
            try:
                times = psutil.Process(pid).cpu_times()
            except psutil.NoSuchProcess:
                continue
            totals[f"{name} user"] = totals.get(f"{name} user", 0.0) + times.user
            totals[f"{name} sys"] = totals.get(f"{name} sys", 0.0) + times.system
    return totals


def _steal_seconds() -> float:
    """CPU time the hypervisor ran others instead of this VM, all cores (0 where not reported)."""
    import psutil

    return float(getattr(psutil.cpu_times(), "steal", 0.0))


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    import asyncio

    n_devices = _env_int("BENCH_INGEST_DEVICES", 20)
    clips = _env_int("BENCH_INGEST_CLIPS", 10)
    chunk = _env_int("BENCH_INGEST_CHUNK_KB", 1000) * 1000
    n_procs = min(_env_int("BENCH_INGEST_PROCS", 2), n_devices)
    database = os.environ.get("BENCH_INGEST_DB", "sqlite")
    print(
        f"ingest bench: {n_devices} devices x {clips} clips of {CLIP_BYTES // 1024} KiB (random bytes), "
        f"chunks of {chunk} B, {n_procs} device processes, database {database}, assessment workers off",
        flush=True,
    )
    with (
        tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp,
        MosquittoBroker(Path(tmp) / "mq") as broker,
    ):
        if database == "postgres":
            from tests.support.postgres import create_database, drop_database

            database_url = create_database()
        else:
            database_url = f"sqlite:///{Path(tmp) / 'cloud' / 'claims.db'}"
        cloud = CloudService(Path(tmp) / "cloud", broker.url, database_url)
        cloud.env.update({"WORKER_ENABLED": "false"})
        cloud.start()
        ctx = mp.get_context("spawn")
        out, go = ctx.Queue(), ctx.Event()
        ids = [f"bench-{n:03d}" for n in range(n_devices)]
        procs = [
            ctx.Process(target=_device_worker, args=(broker.port, ids[i::n_procs], clips, chunk, i, out, go))
            for i in range(n_procs)
        ]
        try:
            for p in procs:
                p.start()
            expected: dict[str, str] = {}
            keys: list[tuple[str, str]] = []
            for _ in procs:
                for device_id, pem, hashes in out.get(timeout=300)[1]:
                    keys.append((device_id, pem))
                    expected.update({f"{device_id}/bench-{n}": h for n, h in enumerate(hashes)})
            asyncio.run(_register(database_url, keys))
            load_before = os.getloadavg()[0]
            parts = {
                "cloud": [cloud.proc.pid],
                "broker": [broker.proc.pid],
                "devices": [p.pid for p in procs],
            }  # type: ignore[union-attr]
            cpu_before = _cpu_seconds(parts)
            steal_before = _steal_seconds()
            start = time.time()
            go.set()
            latencies: list[float] = []
            statuses: dict[str, int] = {}
            end = start
            for _ in range(len(expected)):
                try:
                    kind, _device, status, latency, at = out.get(timeout=180)
                except queue.Empty:
                    break
                statuses[status if kind == "ack" else "NO_ACK"] = (
                    statuses.get(status if kind == "ack" else "NO_ACK", 0) + 1
                )
                if kind == "ack":
                    latencies.append(latency)
                    end = max(end, at)
            cpu = {k: v - cpu_before[k] for k, v in _cpu_seconds(parts).items()}
            steal = _steal_seconds() - steal_before
            for p in procs:
                p.join(60)
            elapsed = end - start
            stored = asyncio.run(_stored(database_url))
        finally:
            for p in procs:
                if p.is_alive():
                    p.kill()
            cloud.stop()
            if database == "postgres":
                drop_database(database_url)
        got = {f"{d}/{i}": h for d, i, h in stored}
        complete = statuses.get("COMPLETE", 0)
        total_mb = complete * CLIP_BYTES / 1e6
        print(f"acks: {statuses}; claims stored: {len(stored)} of {len(expected)} clips sent")
        print(f"loss check: {'OK, zero loss' if got == expected and complete == len(expected) else 'FAILED'}")
        if latencies:
            print(
                f"throughput: {complete / elapsed:.1f} clips/s, {total_mb / elapsed:.1f} MB/s "
                f"({complete} clips, {total_mb:.0f} MB in {elapsed:.2f} s)"
            )
            print(
                f"last chunk -> COMPLETE ack latency: p50 {statistics.median(latencies) * 1000:.0f} ms, "
                f"p99 {_quantile(latencies, 0.99) * 1000:.0f} ms"
            )
        print(
            "CPU seconds used meanwhile: "
            + ", ".join(f"{k} {v:.2f}" for k, v in cpu.items())
            + f"; cloud ingest per CPU-second: {total_mb / (cpu['cloud user'] + cpu['cloud sys']):.0f} MB"
        )
        load_after = os.getloadavg()[0]
        cores = os.cpu_count()
        print(
            f"load average (1 min) before {load_before:.2f}, after {load_after:.2f}; {cores} cores; "
            f"CPU stolen by the hypervisor meanwhile: {steal:.2f} s"
        )
