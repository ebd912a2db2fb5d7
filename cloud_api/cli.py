"""``cloud-api``: serve, migrate, keys create / list / revoke, devices add / revoke / list.

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

from cloud_api.domain.apikeys.services import parse_scopes
from cloud_api.domain.devices.broker_auth import PasswordFile, reload_broker
from cloud_api.domain.devices.services import DeviceError
from cloud_api.domain.errors import NotFoundError
from cloud_api.domain.assessments.commands import add_commands as add_assessment_commands
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


async def _keys_create(runtime: Runtime, args: argparse.Namespace) -> int:
    created = await runtime.apikeys.create(parse_scopes(args.scopes), name=args.name or "", actor="cli")
    print(f"created api key id={created.id} name={created.name} scopes={','.join(created.scopes)}")
    print("store it now: it is shown once and kept only as a hash")
    print(created.key)
    return 0


async def _keys_list(runtime: Runtime, args: argparse.Namespace) -> int:
    keys = await runtime.apikeys.list(limit=100_000, offset=0, include_revoked=args.all)
    for k in keys.items:
        revoked = f"\trevoked={k.revoked_at.isoformat()}" if k.revoked_at else ""
        print(f"{k.id}\t{k.name}\t{k.prefix}\t{','.join(k.scopes)}{revoked}")
    print(f"{keys.total} key(s)")
    return 0


async def _keys_revoke(runtime: Runtime, args: argparse.Namespace) -> int:
    try:
        key = await runtime.apikeys.revoke(args.key_id, actor="cli")
    except NotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"revoked api key id={key.id} name={key.name} prefix={key.prefix}")
    return 0


def _reload_note(settings: Settings) -> str:
    if reload_broker(settings.mqtt_broker_pid_file):
        return "broker reloaded (SIGHUP)"
    return "reload the broker to apply: kill -HUP $(pidof mosquitto)"


async def _devices_add(runtime: Runtime, args: argparse.Namespace) -> int:
    """Register the signing key and create the device's broker login (user name = device id)."""
    try:
        device = await runtime.devices.register(args.device_id, Path(args.public_key).read_text())
    except (DeviceError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    passwords = PasswordFile(runtime.settings.password_file)
    password = passwords.set(device.device_id)
    print(f"registered device {device.device_id}")
    print(f"password file {passwords.path}: {_reload_note(runtime.settings)}")
    print("MQTT credentials (shown once, stored only hashed):")
    print(f"mqtt_username={device.device_id}")
    print(f"mqtt_password={password}")
    return 0


async def _devices_revoke(runtime: Runtime, args: argparse.Namespace) -> int:
    """Refuse the device's messages and remove its broker login."""
    try:
        await runtime.devices.revoke(args.device_id)
    except NotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    passwords = PasswordFile(runtime.settings.password_file)
    passwords.remove(args.device_id)
    print(f"revoked device {args.device_id}; password file {passwords.path}: {_reload_note(runtime.settings)}")
    return 0


async def _devices_list(runtime: Runtime, _args: argparse.Namespace) -> int:
    devices, total = await runtime.devices.list(limit=100_000)
    for d in devices:
        problems = ",".join(p.code for p in d.problems) or "-"
        last_seen = d.last_seen.isoformat() if d.last_seen else "-"
        print(f"{d.device_id}\t{d.status}\tlast_seen={last_seen}\tproblems={problems}")
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
    listing = keys.add_parser("list", help="keys by id (name, prefix, scopes), never the keys themselves")
    listing.add_argument("--all", action="store_true", help="include revoked keys")
    listing.set_defaults(run=_with_database(_keys_list))
    revoke = keys.add_parser("revoke", help="revoke a key at once (audited)")
    revoke.add_argument("key_id", type=int)
    revoke.set_defaults(run=_with_database(_keys_revoke))

    devices = sub.add_parser("devices", help="device registry").add_subparsers(
        dest="devices_command", required=True
    )
    add = devices.add_parser("add", help="register a device's Ed25519 key (PEM) and create its MQTT login")
    add.add_argument("device_id")
    add.add_argument("--public-key", required=True, help="PEM file")
    add.set_defaults(run=_with_database(_devices_add))
    revoke = devices.add_parser("revoke", help="revoke a device: its messages are refused, its login removed")
    revoke.add_argument("device_id")
    revoke.set_defaults(run=_with_database(_devices_revoke))
    devices.add_parser("list", help="list registered devices").set_defaults(run=_with_database(_devices_list))
    add_assessment_commands(sub, _with_database)
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
