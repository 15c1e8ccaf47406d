"""The database as the gateway sees it: every package's tables, migrations, seeding."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from adapters.indicators import models as indicator_models
from adapters.store import models as store_models
from auth import models as auth_models
from gateway.audit import models as audit_models


def all_metadata() -> list[MetaData]:
    """Every MetaData whose tables the migrations build (order: dependencies first)."""
    return [
        store_models.metadata,
        indicator_models.metadata,
        audit_models.metadata,
        auth_models.metadata,
    ]


def alembic_config(url: str) -> Config:
    config = Config()
    location = Path(str(resources.files("gateway.migrations")))
    config.set_main_option("script_location", str(location))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` (the only way tables are created)."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    return ScriptDirectory.from_config(config).get_current_head()


def is_current_or_newer(engine: Engine, revision: str | None) -> bool:
    """True if ``revision`` is this code's head or one it does not know (a newer one)."""
    script = ScriptDirectory.from_config(
        alembic_config(engine.url.render_as_string(hide_password=False))
    )
    if revision is None:
        return False
    if revision == script.get_current_head():
        return True
    known = {rev.revision for rev in script.walk_revisions()}
    return revision not in known


def check(engine: Engine) -> None:
    """Fail if the models and the migrations disagree (``alembic check``)."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.check(config)


@contextmanager
def throwaway_postgres_database(
    admin_url: str, prefix: str, *, drop_attempts: int = 1
) -> Iterator[str]:
    """The URL of a new, empty database ``<prefix>_<random>`` on ``admin_url``'s server,
    dropped on exit with whatever is still connected to it (tests, benchmarks, harnesses).

    The admin engine keeps no pooled connection (a server restart would leave it a dead
    one); ``drop_attempts`` > 1 retries the drop once a second while a restarted server
    comes back (the fault harness restarts it).
    """
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield admin_url.rsplit("/", 1)[0] + f"/{name}"
        finally:
            for attempt in range(1, drop_attempts + 1):
                try:
                    with admin.connect() as conn:
                        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                    break
                except OperationalError:
                    if attempt == drop_attempts:
                        raise
                    time.sleep(1)
    finally:
        admin.dispose()
