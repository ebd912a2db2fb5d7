"""``cloud-api``: serve, migrate, keys create, devices add / list.

``keys create`` prints information lines and then the new key alone on its last line, so scripts can
do ``KEY=$(cloud-api keys create --scopes read,write | tail -1)``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from cloud_api.domain.apikeys.services import ApiKeyService, parse_scopes
from cloud_api.domain.devices.services import DeviceError, DeviceService
from cloud_api.server.runtime import Runtime
from cloud_api.settings import Settings, get_settings


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from cloud_api.server.asgi import create_app

    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info")
    return 0


def _with_database(job: Callable[[Runtime, argparse.Namespace], Awaitable[int]]) -> Callable[..., int]:
    """Run ``job`` with the schema migrated and the database open (no ingest, no workers)."""

    def run(args: argparse.Namespace, settings: Settings) -> int:
        async def main() -> int:
            runtime = Runtime(settings.replace(ingest_enabled=False, worker_enabled=False))
            await runtime.open_database()
            try:
                return await job(runtime, args)
            finally:
                await runtime.stop()

        return asyncio.run(main())

    return run


async def _migrate(runtime: Runtime, _args: argparse.Namespace) -> int:
    print("schema up to date")
    return 0


async def _keys_create(_runtime: Runtime, args: argparse.Namespace) -> int:
    created = await ApiKeyService().create(parse_scopes(args.scopes), name=args.name or "")
    print(f"created api key id={created.id} name={created.name} scopes={','.join(created.scopes)}")
    print("store it now: it is shown once and kept only as a hash")
    print(created.key)
    return 0


async def _devices_add(_runtime: Runtime, args: argparse.Namespace) -> int:
    try:
        device = await DeviceService().register(args.device_id, Path(args.public_key).read_text())
    except (DeviceError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"registered device {device.device_id}")
    return 0


async def _devices_list(_runtime: Runtime, _args: argparse.Namespace) -> int:
    devices, total = await DeviceService().list(limit=10_000)
    for d in devices:
        revoked = " revoked" if d.revoked_at else ""
        print(
            f"{d.device_id}\t{d.status}{revoked}\tlast_seen={d.last_seen.isoformat() if d.last_seen else '-'}"
        )
    print(f"{total} device(s)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cloud-api", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run API, MQTT ingest and assessment workers in one process")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(run=_serve)
    sub.add_parser("migrate", help="apply pending database migrations").set_defaults(
        run=_with_database(_migrate)
    )

    keys = sub.add_parser("keys", help="API keys").add_subparsers(dest="keys_command", required=True)
    create = keys.add_parser("create", help="create a key; the key itself is printed last, alone")
    create.add_argument("--scopes", required=True, help="comma-separated: read, write, admin")
    create.add_argument("--name", default="")
    create.set_defaults(run=_with_database(_keys_create))

    devices = sub.add_parser("devices", help="device registry").add_subparsers(
        dest="devices_command", required=True
    )
    add = devices.add_parser("add", help="register a device and its Ed25519 public key (PEM)")
    add.add_argument("device_id")
    add.add_argument("--public-key", required=True, help="PEM file")
    add.set_defaults(run=_with_database(_devices_add))
    devices.add_parser("list", help="list registered devices").set_defaults(run=_with_database(_devices_list))
    return parser


def main(argv: Sequence[str] | None = None, settings: Settings | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stderr
    )
    args = build_parser().parse_args(argv)
    run: Callable[[argparse.Namespace, Settings], Any] = args.run
    try:
        return int(run(args, settings or get_settings()))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
