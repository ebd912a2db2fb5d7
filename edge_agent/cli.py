"""``edge-agent`` command line: sample, mine, run, keys.

Heavy modules are imported inside each command so ``edge-agent --help`` and ``keys`` stay fast on a
small device.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path


def _cmd_sample(args: argparse.Namespace) -> int:
    from edge_agent.sample.drive import SampleDriveSpec, write_sample_drive

    spec = SampleDriveSpec(
        seed=args.seed,
        impact_at_s=None if args.no_incident else args.impact_at,
        duration_s=args.duration,
        width=args.width,
        height=args.height,
        fps=args.fps,
        gsensor=args.gsensor,
    )
    truth = write_sample_drive(Path(args.out), spec)
    print(truth.to_json())
    return 0


def _cmd_mine(args: argparse.Namespace) -> int:
    from edge_agent.mining import mine_file
    from edge_agent.settings import load_config

    result = mine_file(Path(args.video), load_config(args.config))
    for incident in result.incidents:
        print(incident.to_json() if args.json else incident.describe())
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from edge_agent.app import AgentOptions, run_agent

    options = AgentOptions(
        source=args.source,
        device_id=args.device_id,
        broker_url=args.broker,
        data_dir=Path(args.data_dir),
        config_path=Path(args.config) if args.config else None,
        exit_when_idle=args.exit_when_idle,
        mqtt_username=args.mqtt_username,
        mqtt_password_file=Path(args.mqtt_password_file) if args.mqtt_password_file else None,
        gsensor_path=Path(args.gsensor) if args.gsensor else None,
    )
    return run_agent(options)


def _cmd_keys(args: argparse.Namespace) -> int:
    from edge_agent.clips.signing import DeviceKey

    key = DeviceKey.load_or_create(Path(args.data_dir))
    pem = key.public_key_pem()
    if args.out:
        Path(args.out).write_bytes(pem)
    sys.stdout.write(pem.decode())
    return 0


def _cmd_build_engines(args: argparse.Namespace) -> int:
    from edge_agent.inference.tensorrt import TensorRTUnavailable, build_engines
    from edge_agent.models import shipped_models

    try:
        for engine in build_engines(shipped_models(), Path(args.out)):
            print(engine)
    except TensorRTUnavailable as exc:
        print(f"edge-agent build-engines: {exc}", file=sys.stderr)
        return 2
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edge-agent", description="Dashcam edge agent")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("sample", help="write a generated sample drive (H.264 + AAC MP4)")
    p.add_argument("out", help="output .mp4 path")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--impact-at", type=float, default=12.0, help="impact time in seconds (default 12)")
    p.add_argument("--no-incident", action="store_true", help="a normal drive with no impact")
    p.add_argument("--duration", type=float, default=20.0, help="seconds (default 20)")
    p.add_argument("--width", type=int, default=1280)
    p.add_argument("--height", type=int, default=720)
    p.add_argument("--fps", type=int, default=30)
    p.add_argument("--gsensor", action="store_true", help="also write the G-sensor sidecar <stem>.gsensor.csv")
    p.set_defaults(func=_cmd_sample)

    p = sub.add_parser("mine", help="analyse a video offline and list the incidents found")
    p.add_argument("video")
    p.add_argument("--json", action="store_true", help="one JSON line per incident")
    p.add_argument("--config", help="agent config TOML (defaults built in)")
    p.set_defaults(func=_cmd_mine)

    p = sub.add_parser("run", help="mine a source, cut clips, keep them in the outbox, deliver over MQTT")
    p.add_argument(
        "--source",
        required=True,
        help="video file, folder of segment files (one drive, in name order), or a live camera: "
        "rtsp://..., http://... (MJPEG), gst:<pipeline ending in appsink>, camera:<N> (V4L2)",
    )
    p.add_argument("--gsensor", help="G-sensor CSV t,ax,ay,az (default: <video stem>.gsensor.csv beside it)")
    p.add_argument("--device-id", required=True)
    p.add_argument("--broker", default="mqtt://127.0.0.1:1883", help="mqtt://host:port")
    p.add_argument("--data-dir", required=True, help="outbox, device key and state live here")
    p.add_argument("--config", help="agent config TOML (defaults built in)")
    p.add_argument("--mqtt-username", help="broker user name (default: the device id when a password file is given)")
    p.add_argument("--mqtt-password-file", help="file holding the broker password")
    p.add_argument(
        "--exit-when-idle",
        action="store_true",
        help="exit once the source is finished and the outbox is empty (demo, tests)",
    )
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("keys", help="print the device's Ed25519 public key (created at first use)")
    p.add_argument("--data-dir", required=True)
    p.add_argument("--out", help="also write the PEM to this file")
    p.set_defaults(func=_cmd_keys)

    p = sub.add_parser("build-engines", help="build TensorRT 10 engines from the shipped ONNX models (Jetson)")
    p.add_argument("--out", default="engines", help="folder for the .engine files (default ./engines)")
    p.set_defaults(func=_cmd_build_engines)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
