"""``just demo``: one generated drive through the whole product, on real parts.

A private Mosquitto, ``cloud-api serve`` (API + MQTT ingest + assessment worker, SQLite), a provisioned
device, and ``edge-agent run`` on a generated drive with an impact. Waits for the assessed claim in the
review queue, prints it, and stops everything it started.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import httpx

from deploy.localstack import CloudService, MosquittoBroker, provision_device, run_cli, run_edge_agent, wait_for

DEVICE_ID = "demo-truck-01"


def _say(text: str) -> None:
    print(f"==> {text}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workdir", default=".demo", help="scratch folder, emptied first (default .demo)")
    parser.add_argument("--impact-at", type=float, default=12.0)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--keep-running", action="store_true", help="leave the cloud running until Ctrl-C")
    args = parser.parse_args(argv)

    started = time.monotonic()
    workdir = Path(args.workdir).resolve()
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)

    drive = workdir / "sample_drive.mp4"
    _say(f"generating a sample drive with an impact at {args.impact_at:.1f} s: {drive}")
    run_cli(
        "edge-agent", "sample", str(drive), "--seed", "7",
        "--impact-at", str(args.impact_at), "--duration", str(args.duration),
    )

    # Demo broker: anonymous, loopback only, on a free port. deploy/mosquitto/ is the production config.
    with MosquittoBroker(workdir / "broker") as broker, CloudService(workdir / "cloud", broker.url) as cloud:
        _say(f"broker {broker.url}; cloud API {cloud.base_url} (log: {cloud.log})")
        api_key = cloud.create_key("read,write")
        provision_device(cloud, DEVICE_ID, workdir / "edge")
        _say(f"device {DEVICE_ID} provisioned; running the edge agent on the drive")

        agent = run_edge_agent(drive, DEVICE_ID, broker.url, workdir / "edge")
        (workdir / "edge-agent.log").write_text(agent.stdout + agent.stderr)
        if agent.returncode != 0:
            print(agent.stderr[-4000:], file=sys.stderr)
            _say(f"edge agent failed (exit {agent.returncode}); log: {workdir / 'edge-agent.log'}")
            return 1
        _say("edge agent delivered its clips and exited; waiting for the assessment")

        client = httpx.Client(base_url=cloud.base_url, headers={"X-API-Key": api_key}, timeout=10)

        def queued_item() -> dict | None:
            items = client.get("/reviews/queue").raise_for_status().json()["items"]
            return next((i for i in items if i.get("device_id") == DEVICE_ID), None)

        item = wait_for(queued_item, timeout=120, what="the assessed claim in the review queue")
        assessment = client.get(f"/claims/{item['claim_id']}/assessment").raise_for_status().json()

        _say("assessment")
        print(json.dumps(assessment, indent=2))
        _say("review queue entry")
        print(json.dumps(item, indent=2))
        _say(f"API docs: {cloud.base_url}/docs  (ReDoc: {cloud.base_url}/redoc); API key: {api_key}")
        _say(f"demo took {time.monotonic() - started:.1f} s")
        if args.keep_running:
            _say("cloud still running; Ctrl-C to stop")
            try:
                while True:
                    time.sleep(1)
            except KeyboardInterrupt:
                pass
    _say("stopped the cloud service and the broker")
    return 0


if __name__ == "__main__":
    sys.exit(main())
