"""Apply the committed Piccolo migrations that have not run yet; safe to call on every start.

Same bookkeeping as ``piccolo migrations forwards cloud`` (the ``migration`` table), so either can be
used on a database; this one imports the migration modules as a package instead of putting their
folder on ``sys.path`` each time, and logs instead of printing.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import logging
import pkgutil
from types import ModuleType

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.apps.migrations.tables import Migration

from cloud_api.db import migrations
from cloud_api.db.piccolo_app import APP_NAME

log = logging.getLogger(__name__)


def _migration_modules() -> dict[str, ModuleType]:
    modules = (
        importlib.import_module(f"{migrations.__name__}.{info.name}")
        for info in pkgutil.iter_modules(migrations.__path__)
    )
    return {module.ID: module for module in modules if hasattr(module, "ID")}


async def migrate(until: str | None = None) -> list[str]:
    """Run pending migrations in ID order on the configured engine; returns the IDs it applied.

    ``until``: stop after this migration ID (an upgrade test builds an older schema with it).
    """
    if not await Migration.table_exists().run():
        await Migration.create_table(if_not_exists=True).run()
    done = set(await Migration.get_migrations_which_ran(app_name=APP_NAME))
    modules = _migration_modules()
    applied: list[str] = []
    for migration_id in sorted(m for m in set(modules) - done if until is None or m <= until):
        manager = await modules[migration_id].forwards()
        if isinstance(manager, MigrationManager):
            with contextlib.redirect_stdout(io.StringIO()):  # Piccolo prints its progress
                await manager.run()
        await Migration.insert(Migration(name=migration_id, app_name=APP_NAME)).run()
        log.info("db.migrated id=%s", migration_id)
        applied.append(migration_id)
    return applied
