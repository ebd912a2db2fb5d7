"""Delivery bench: what a clip costs the device between the incident and the cloud's ack.

On the cached 720p30 drive of the edge bench: the remux cut of a default 15 s clip (pre-roll 10 s,
post-roll 5 s), its durable put into the outbox (fsync of clip, manifest, state and folders), and its
delivery over a private Mosquitto on localhost (manifest + 256 KiB chunks at QoS 1, up to the scripted
cloud's COMPLETE ack, as in the delivery tests). Localhost has no cellular latency: the last figure is the
agent's own ceiling, not a field rate. Each is run ``REPEATS`` times; the median is printed with the range.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

REPEATS = 5
PEAK_S = 40.0


def _timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def _report(name: str, runs: list[tuple[float, float]], unit_bytes: int | None = None) -> None:
    walls = sorted(w for w, _ in runs)
    cpus = sorted(c for _, c in runs)
    line = (
        f"{name:<34} median {statistics.median(walls) * 1000:8.1f} ms wall "
        f"({walls[0] * 1000:.1f}..{walls[-1] * 1000:.1f}), {statistics.median(cpus) * 1000:7.1f} ms CPU"
    )
    if unit_bytes:
        line += f", {unit_bytes / statistics.median(walls) / 1e6:.1f} MB/s"
    print(line, flush=True)


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration" / "edge_delivery"))
    from delivery_support import ScriptedCloud  # the same scripted ingest the delivery tests use

    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    from deploy.localstack import MosquittoBroker
    from edge_agent.clips import DeviceKey, build_manifest, cut_clip, new_incident_id
    from edge_agent.fusion import Incident
    from edge_agent.mqtt_url import parse_broker_url
    from edge_agent.outbox import Outbox
    from edge_agent.publisher import Backoff, Delivery, LinkSettings, MqttLink, run_step_loop
    from edge_agent.settings import AgentConfig
    from shared_models import IncidentManifest
    from tests.bench.edge import bench_clip

    drive = bench_clip()
    clip_cfg = AgentConfig().clip
    work = Path(tempfile.mkdtemp(prefix="bench-delivery-"))
    try:
        key = DeviceKey.load_or_create(work / "device")
        out = work / "clip.mp4"
        start, end = PEAK_S - clip_cfg.pre_roll_s, PEAK_S + clip_cfg.post_roll_s
        runs = [_timed(lambda: cut_clip(drive, start, end, out)) for _ in range(REPEATS)]
        clip = cut_clip(drive, start, end, out)
        print(f"drive {drive.name}: clip {clip.duration_s:.2f} s, {clip.size_bytes / 1e6:.2f} MB")
        _report("cut 15 s clip (remux, no re-encode)", runs)

        incident = Incident(start_s=PEAK_S - 1, peak_s=PEAK_S, end_s=PEAK_S + 1, score=0.9, miner_scores={})

        def manifest() -> IncidentManifest:
            return build_manifest(
                "bench-1",
                new_incident_id(),
                incident,
                clip,
                [],
                time.time(),
                clip_cfg.chunk_size_bytes,
                key,
                "bench",
            )

        outbox = Outbox(work / "outbox")
        puts = []
        for _ in range(REPEATS):
            copy = work / "copy.mp4"
            shutil.copyfile(out, copy)
            signed = manifest()
            puts.append(_timed(lambda: outbox.put(copy, signed)))
            outbox.remove(signed.incident_id)
        _report("outbox put (durable, fsync)", puts)

        with MosquittoBroker(work / "mosquitto") as broker:
            public_key = load_pem_public_key(key.public_key_pem())
            cloud = ScriptedCloud(broker.url, public_key, device_id="bench-1")  # type: ignore[arg-type]
            link = MqttLink(LinkSettings(device_id="bench-1", broker=parse_broker_url(broker.url)))
            stop = threading.Event()
            delivery = Delivery(outbox, link, stop=stop)
            link.start()
            thread = threading.Thread(
                target=run_step_loop,
                args=(delivery.step, stop, delivery.wake, Backoff(idle_s=0.05)),
                daemon=True,
            )
            thread.start()
            while not link.is_ready():
                time.sleep(0.01)
            sends = []
            for _ in range(REPEATS):
                copy = work / "copy.mp4"
                shutil.copyfile(out, copy)
                outbox.put(copy, manifest())

                def deliver() -> None:
                    delivery.wake.set()
                    while outbox.depth():
                        time.sleep(0.002)

                sends.append(_timed(deliver))
            _report("deliver to COMPLETE (localhost)", sends, clip.size_bytes)
            stop.set()
            delivery.wake.set()
            thread.join(10)
            link.close()
            cloud.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
