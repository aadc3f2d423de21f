"""Shared fixtures: a live Shafa over real HTTP on SQLite and on PostgreSQL.

Every test that takes `fhir` runs once per database. Each database gets a server process-local
thread running uvicorn (real sockets, real HTTP), and every test starts from empty tables.
"""

import asyncio
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
import uvicorn

from shafa.app import create_app
from shafa.config import Settings
from shafa.db import migrate
from shafa.db.tables import metadata
from shafa.prescriptions import tables as _prescriptions_tables  # noqa: F401 (joins metadata)
from shafa.registries import medicines_tables as _medicines_tables  # noqa: F401 (joins metadata)
from shafa.registries import tables as _registries_tables  # noqa: F401 (its tables join metadata)
from shafa.registries.mpi import tables as _mpi_tables  # noqa: F401 (its tables join metadata)
from shafa.security import tables as _security_tables  # noqa: F401 (its tables join metadata)
from shafa.security.access import REGISTRY_OWNED

# What a system that keeps the national registries is granted: everything, and the registries'
# own types by name (a wildcard does not reach them; security.access.REGISTRY_OWNED).
REGISTRY_KEEPER_SCOPE = " ".join(
    ["system/*.cruds", *(f"system/{kind}.cruds" for kind in sorted(REGISTRY_OWNED))]
)
PG_ADMIN_DSN = os.environ.get("SHAFA_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKENDS = ("sqlite", "postgresql")
# Emptied before each test. The signing keys stay, as they do across a real server's life: a
# live server's key cache re-reads the keys at most once a second, so a key made anew for each
# test would leave tokens unverifiable for a moment.
KEPT = frozenset({"signing_keys"})
TABLES = [t.name for t in reversed(metadata.sorted_tables) if t.name not in KEPT]


@dataclass(frozen=True)
class Database:
    """A migrated database for one backend, and how to empty it."""

    backend: str
    url: str  # SQLAlchemy async URL
    dsn: str  # driver-level: a file path for SQLite, a libpq DSN for PostgreSQL

    def truncate(self) -> None:
        """Delete every row of every table (the schema stays).

        PostgreSQL refuses TRUNCATE of the audit tables by trigger; this session fires none.
        """
        if self.backend == "sqlite":
            with sqlite3.connect(self.dsn) as conn:
                # The audit log refuses DELETE by trigger: set the triggers aside meanwhile.
                listed = "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
                triggers = conn.execute(listed).fetchall()
                for name, _sql in triggers:
                    conn.execute(f"DROP TRIGGER {name}")
                for table in TABLES:
                    conn.execute(f"DELETE FROM {table}")  # noqa: S608 (our own table names)
                for _name, sql in triggers:
                    conn.execute(sql)
            return

        async def truncate_pg() -> None:
            conn = await asyncpg.connect(self.dsn)
            try:
                # The audit log refuses TRUNCATE by trigger: this session fires none (superuser).
                await conn.execute("SET session_replication_role = replica")
                await conn.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
            finally:
                await conn.close()

        asyncio.run(truncate_pg())


def create_pg_database(options: str = "") -> tuple[str, str]:
    """A new, empty PostgreSQL database: (SQLAlchemy URL, libpq DSN).

    options are CREATE DATABASE's, such as a locale.
    """
    name = f"shafa_test_{uuid.uuid4().hex[:12]}"

    async def create() -> None:
        try:
            conn = await asyncpg.connect(PG_ADMIN_DSN)
        except OSError as error:  # CI must have PostgreSQL: no skip, a clear failure
            pytest.fail(f"PostgreSQL is required for the tests and is not reachable: {error}")
        try:
            await conn.execute(f'CREATE DATABASE "{name}" {options}')
        finally:
            await conn.close()

    asyncio.run(create())
    dsn = PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}"
    return dsn.replace("postgresql://", "postgresql+asyncpg://"), dsn


def drop_pg_database(dsn: str) -> None:
    """Drop a database made by create_pg_database."""
    name = dsn.rsplit("/", 1)[1]

    async def drop() -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


@pytest.fixture(scope="session", params=BACKENDS)
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """A freshly migrated database of each backend."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "shafa.db"
        db = Database("sqlite", f"sqlite+aiosqlite:///{path}", str(path))
        migrate.upgrade(db.url)
        yield db
        return
    url, dsn = create_pg_database()
    db = Database("postgresql", url, dsn)
    migrate.upgrade(db.url)
    yield db
    drop_pg_database(dsn)


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """uvicorn serving Shafa in a background thread of the test process."""

    def __init__(self, settings: Settings) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def base(self) -> str:
        """The FHIR base URL."""
        return f"http://127.0.0.1:{self.port}/fhir"

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("The test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture(scope="session")
def server(database: Database) -> Iterator[LiveServer]:
    """A live server over the session's database of this backend."""
    # The FHIR behaviour tests run without tokens; tests/security/ tries the guarded API.
    settings = Settings(
        database_url=database.url, max_body_bytes=60 * 1024 * 1024, fhir_auth_required=False
    )
    with LiveServer(settings) as live:
        yield live


@pytest.fixture
def fhir(server: LiveServer, database: Database) -> Iterator[httpx.Client]:
    """An HTTP client at the FHIR base of a live server whose database starts empty."""
    database.truncate()
    with httpx.Client(
        base_url=server.base, headers={"Content-Type": "application/fhir+json"}, timeout=60
    ) as client:
        yield client


@pytest.fixture(scope="session")
def examples_dir() -> Path:
    """The official FHIR R4 examples copied into the test data."""
    return Path(__file__).parent / "data" / "fhir-examples"
