"""The `shafa` command: serve, db upgrade, demo, audit verify."""

import asyncio
import sys
from typing import Annotated

import typer
import uvicorn

from shafa.config import Settings, get_settings
from shafa.db import migrate
from shafa.db.engine import create_engine, write_transaction
from shafa.fhir import bundles, store
from shafa.security import audit
from shafa.synthetic import clinical

app = typer.Typer(
    help="Shafa: a FHIR-native national digital-health platform.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (one a core is right).")] = 1,
) -> None:
    """Serve the FHIR API at http://HOST:PORT/fhir."""
    settings = get_settings()

    async def check() -> None:
        engine = create_engine(settings)
        try:
            await migrate.ensure_migrated(engine, settings.database_url)
        finally:
            await engine.dispose()

    try:
        asyncio.run(check())
    except migrate.DatabaseNotMigrated as error:
        typer.echo(f"shafa: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"Shafa serves the FHIR API at http://{host}:{port}/fhir ({workers} worker(s)).")
    uvicorn.run(
        "shafa.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
        # No server header or date header work is worth a few µs a request.
        server_header=False,
    )


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Create or migrate the tables of SHAFA_DATABASE_URL to the newest revision."""
    migrate.upgrade(get_settings().database_url, revision)
    typer.echo(f"Database at revision {revision}.")


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision, e.g. base.")],
) -> None:
    """Take the schema down to an earlier revision."""
    migrate.downgrade(get_settings().database_url, revision)
    typer.echo(f"Database at revision {revision}.")


@app.command()
def demo(
    patients: Annotated[
        int, typer.Option(help="Synthetic patients to load (about 10 resources each).")
    ] = 200,
    seed: Annotated[int, typer.Option(help="Seed of the deterministic generator.")] = 1,
) -> None:
    """Load a deterministic synthetic clinical data set (idempotent: PUTs with fixed ids)."""
    settings = get_settings()
    try:
        loaded = asyncio.run(_load_demo(settings, patients, seed))
    except migrate.DatabaseNotMigrated as error:
        typer.echo(f"shafa: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"Demo data: {loaded} resources of {patients} patients are in the database.")


async def _load_demo(settings: Settings, patients: int, seed: int) -> int:
    engine = create_engine(settings)
    try:
        await migrate.ensure_migrated(engine, settings.database_url)
        loaded = 0
        for bundle in clinical.transaction_bundles(patients, seed=seed):
            async with write_transaction(engine) as conn:
                await bundles.process_transaction(conn, bundle, store.now())
            loaded += len(bundle["entry"])
        return loaded
    finally:
        await engine.dispose()


@audit_app.command("verify")
def audit_verify() -> None:
    """Walk every audit hash chain; exit 1 naming the first broken link of each broken chain."""
    settings = get_settings()
    try:
        result = asyncio.run(_verify_audit(settings))
    except migrate.DatabaseNotMigrated as error:
        typer.echo(f"shafa: {error}", err=True)
        raise typer.Exit(1) from None
    if result.intact:
        typer.echo(f"Audit log intact: {result.records} records in {result.chains} chains.")
        return
    typer.echo(f"Audit log BROKEN in {len(result.breaks)} of {result.chains} chains:")
    for broken in result.breaks:
        typer.echo(f"  {broken}")
    raise typer.Exit(1)


async def _verify_audit(settings: Settings) -> audit.Verification:
    engine = create_engine(settings)
    try:
        await migrate.ensure_migrated(engine, settings.database_url)
        async with engine.connect() as conn:
            return await audit.verify(conn)
    finally:
        await engine.dispose()


def main() -> None:
    """Entry point for `python -m shafa`."""
    sys.exit(app())
