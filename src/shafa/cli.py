"""The `shafa` command: serve, db, demo, users, clients, keys, audit."""

import asyncio
import json
import secrets
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine

from shafa.config import Settings, get_settings
from shafa.db import migrate
from shafa.db.engine import create_engine, read_transaction, write_transaction
from shafa.fhir import bundles, store
from shafa.security import accounts, audit, keys, oauth, rules
from shafa.security.rules import Role
from shafa.synthetic import clinical

T = TypeVar("T")

app = typer.Typer(
    help="Shafa: a FHIR-native national digital-health platform.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")
users_app = typer.Typer(help="Accounts of staff and citizens.", no_args_is_help=True)
app.add_typer(users_app, name="users")
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
clients_app = typer.Typer(help="OAuth2 clients of the token endpoint.", no_args_is_help=True)
app.add_typer(clients_app, name="clients")
keys_app = typer.Typer(help="Keys that sign access tokens.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


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
    with_accounts: Annotated[
        bool,
        typer.Option(
            "--accounts",
            help="Also add demo accounts (a doctor and a system administrator of polyclinic-1, "
            "the first patient as a citizen) and print their credentials; never in production.",
        ),
    ] = False,
) -> None:
    """Load a deterministic synthetic clinical data set (idempotent: PUTs with fixed ids)."""
    settings = get_settings()
    try:
        loaded = asyncio.run(_load_demo(settings, patients, seed))
        added = asyncio.run(_demo_accounts(settings)) if with_accounts else []
    except migrate.DatabaseNotMigrated as error:
        typer.echo(f"shafa: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"Demo data: {loaded} resources of {patients} patients are in the database.")
    for line in added:
        typer.echo(line)


# The demo's people: (username, role, Practitioner id, display name). Their passwords are made
# afresh and shown once; a staff member's second factor is the TOTP secret printed beside it.
DEMO_STAFF = (
    ("demo.doctor", Role.DOCTOR, "demo-doctor", "Dr Aysel Quliyeva"),
    ("demo.admin", Role.SYSTEM_ADMIN, "demo-admin", "Rəşad Məmmədov"),
)
DEMO_CITIZEN = "demo.citizen"


async def _demo_accounts(settings: Settings) -> list[str]:
    """Add the demo's accounts that are missing; lines saying how to sign in as each."""
    engine = create_engine(settings)
    lines = []
    try:
        existing = {account.identity.username for account in await accounts.list_accounts(engine)}
        clinic = f"Organization/{clinical.polyclinic_id(1)}"
        for username, role, practitioner, name in DEMO_STAFF:
            if username in existing:
                lines.append(f"{username}: exists (reset with `shafa users passwd {username}`)")
                continue
            resource = {"resourceType": "Practitioner", "id": practitioner, "active": True}
            resource["name"] = [{"text": name}]
            async with write_transaction(engine) as conn:
                write = store.Write("Practitioner", practitioner, resource, "PUT")
                await store.apply_writes(conn, [write], store.now())
            password = secrets.token_urlsafe(12)
            staff = await accounts.add_staff(
                engine,
                username=username,
                password=password,
                role=role,
                display_name=name,
                organization=clinic,
                practitioner=f"Practitioner/{practitioner}",
                now=store.now(),
            )
            lines.append(
                f"{username} ({role.value}): password {password}, TOTP secret "
                f"{staff.totp_secret} (add it to an authenticator app)"
            )
        if DEMO_CITIZEN in existing:
            lines.append(f"{DEMO_CITIZEN}: exists (reset with `shafa users passwd {DEMO_CITIZEN}`)")
        else:
            async with read_transaction(engine) as conn:
                first = await store.read(conn, "Patient", clinical.patient_id(1))
            fin = next(
                i["value"]
                for i in first.resource()["identifier"]
                if i["system"] == rules.FIN_SYSTEM
            )
            password = secrets.token_urlsafe(12)
            await accounts.add_citizen(
                engine, username=DEMO_CITIZEN, password=password, fin=fin, display_name=None,
                now=store.now(),
            )  # fmt: skip
            lines.append(f"{DEMO_CITIZEN} (citizen, FIN {fin}): password {password}")
    finally:
        await engine.dispose()
    return lines


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


def _with_engine(work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Run work over the migrated database; exit 1 with the reason when it is not, or when an
    account action refuses."""
    settings = get_settings()

    async def run() -> T:
        engine = create_engine(settings)
        try:
            await migrate.ensure_migrated(engine, settings.database_url)
            return await work(engine)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except (migrate.DatabaseNotMigrated, accounts.AccountError, rules.RuleBroken) as error:
        typer.echo(f"shafa: {error}", err=True)
        raise typer.Exit(1) from None


@clients_app.command("add")
def clients_add(
    name: Annotated[str, typer.Argument(help="Who the client is, e.g. 'Central Hospital HIS'.")],
    scope: Annotated[
        str, typer.Option(help='SMART scopes it may be granted, e.g. "system/*.cruds".')
    ],
    grant_type: Annotated[
        list[str] | None,
        typer.Option(help="A grant type it may use (repeatable); default client_credentials."),
    ] = None,
    redirect_uri: Annotated[
        list[str] | None,
        typer.Option(help="A redirect URI for the authorization code grant (repeatable)."),
    ] = None,
    public: Annotated[
        bool, typer.Option(help="A public app (no secret; authorization code with PKCE).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Register an OAuth2 client and print its client_id and client_secret (shown only now)."""
    try:
        client, secret = _with_engine(
            lambda engine: oauth.add_client(
                engine,
                name,
                scope,
                store.now(),
                grant_types=tuple(grant_type or ("client_credentials",)),
                redirect_uris=tuple(redirect_uri or ()),
                public=public,
            )
        )
    except ValueError as error:
        typer.echo(f"shafa: {error}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        body = _client_json(client) | {"client_secret": secret}
        typer.echo(json.dumps(body))
        return
    typer.echo(f"client_id: {client.client_id}")
    if secret is not None:
        typer.echo(f"client_secret: {secret}")


def _client_json(client: oauth.Client) -> dict[str, Any]:
    return {
        "client_id": client.client_id,
        "name": client.name,
        "scope": client.scopes,
        "grant_types": list(client.grant_types),
        "redirect_uris": list(client.redirect_uris),
        "confidential": client.confidential,
        "active": client.active,
        "created": client.created.isoformat(),
    }


@clients_app.command("list")
def clients_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """List the clients: id, state, name and scopes."""
    clients = _with_engine(oauth.list_clients)
    if as_json:
        typer.echo(json.dumps([_client_json(client) for client in clients]))
        return
    for client in clients:
        state = "active" if client.active else "disabled"
        typer.echo(f"{client.client_id}  {state}  {client.name}  [{client.scopes}]")


@clients_app.command("disable")
def clients_disable(client_id: Annotated[str, typer.Argument(help="The client_id.")]) -> None:
    """Refuse the client new tokens and revoke its refresh tokens."""
    if not _with_engine(lambda engine: oauth.disable_client(engine, client_id)):
        typer.echo(f"shafa: no client {client_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"Client {client_id} is disabled.")


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Make a new signing key; the old ones verify until the longest access token runs out."""
    settings = get_settings()

    async def rotate(engine: AsyncEngine) -> keys.KeyInfo:
        overlap = timedelta(seconds=settings.access_token_seconds)
        async with write_transaction(engine) as conn:
            return await keys.rotate(conn, store.now(), settings.signing_algorithm, overlap)

    made = _with_engine(rotate)
    typer.echo(f"New signing key {made.kid} ({made.algorithm}) is active.")


@keys_app.command("list")
def keys_list() -> None:
    """List the signing keys: kid, algorithm, created, activated, retired."""

    async def listed(engine: AsyncEngine) -> list[keys.KeyInfo]:
        async with read_transaction(engine) as conn:
            return await keys.list_keys(conn)

    moment = store.now()
    for key in _with_engine(listed):
        state = "verifying" if key.live(moment) else "retired"
        retired = key.retired.isoformat() if key.retired else "-"
        typer.echo(
            f"{key.kid}  {key.algorithm}  {state}  created {key.created.isoformat()}  "
            f"retires {retired}"
        )


def _password(password_file: Path | None) -> str:
    """The password from the file's first line, else asked for twice without echo."""
    if password_file is None:
        password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        return password
    try:
        lines = password_file.read_text("utf-8").splitlines()
    except OSError as error:
        typer.echo(f"shafa: cannot read the password file: {error}", err=True)
        raise typer.Exit(1) from None
    return lines[0] if lines else ""


PasswordFile = Annotated[
    Path | None,
    typer.Option(help="Read the password from the first line of this file instead of asking."),
]


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="Login name (3-64 of a-z 0-9 . _ @ -).")],
    role: Annotated[Role | None, typer.Option(help="Staff role; leave out with --citizen.")] = None,
    citizen: Annotated[bool, typer.Option("--citizen", help="A citizen's account.")] = False,
    fin: Annotated[str | None, typer.Option(help="Citizen's FIN (national ID).")] = None,
    organization: Annotated[
        str | None, typer.Option(help="Staff: Organization/ID the account works for.")
    ] = None,
    practitioner: Annotated[
        str | None, typer.Option(help="Staff: Practitioner/ID the account acts as.")
    ] = None,
    practitioner_role: Annotated[
        str | None, typer.Option(help="Staff: PractitionerRole/ID, if there is one.")
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="Display name (citizens: the Patient's name by default).")
    ] = None,
    password_file: PasswordFile = None,
) -> None:
    """Add a staff account (prints its TOTP secret once) or, with --citizen --fin, a citizen's."""
    if citizen:
        if fin is None or role not in (None, Role.CITIZEN) or organization or practitioner:
            _usage("a citizen needs --fin, and no --role, --organization or --practitioner")
        password = _password(password_file)
        person = _with_engine(
            lambda engine: accounts.add_citizen(
                engine,
                username=username,
                password=password,
                fin=fin,
                display_name=name,
                now=store.now(),
            )
        )
        typer.echo(
            f"Added citizen {person.username} (Patient/{person.patient_id}, FIN {person.fin})."
        )
        return
    if role is None or role is Role.CITIZEN or not organization or not practitioner or not name:
        _usage("staff need --role, --organization, --practitioner and --name (or use --citizen)")
    if fin is not None:
        _usage("--fin is for citizens only")
    password = _password(password_file)
    staff = _with_engine(
        lambda engine: accounts.add_staff(
            engine,
            username=username,
            password=password,
            role=role,
            display_name=name,
            organization=organization,
            practitioner=practitioner,
            practitioner_role=practitioner_role,
            now=store.now(),
        )
    )
    who = staff.identity
    typer.echo(f"Added {who.role.value} {who.username} (Organization/{who.organization_id}).")
    typer.echo("Give these to the user once, for an authenticator app; they are not shown again.")
    typer.echo(f"totp_secret: {staff.totp_secret}")
    typer.echo(f"totp_uri: {staff.provisioning_uri}")


def _usage(message: str) -> NoReturn:
    typer.echo(f"shafa: {message}", err=True)
    raise typer.Exit(2)


@users_app.command("list")
def users_list() -> None:
    """List every account: username, role, links, and whether it is locked."""
    now = store.now()
    for account in _with_engine(accounts.list_accounts):
        who = account.identity
        links = (
            f"Patient/{who.patient_id} FIN {who.fin}"
            if who.patient_id
            else f"Organization/{who.organization_id} Practitioner/{who.practitioner_id}"
        )
        until = rules.locked_until(account.locked_until, now)
        state = "inactive" if not account.active else "active"
        if until == rules.LOCKED_INDEFINITELY:
            state = "locked"
        elif until is not None:
            state = f"locked until {until.isoformat(timespec='seconds')}"
        typer.echo(f"{who.username}\t{who.role.value}\t{who.display_name}\t{links}\t{state}")


@users_app.command("lock")
def users_lock(username: Annotated[str, typer.Argument(help="The account to lock.")]) -> None:
    """Lock an account until it is unlocked, and end its sessions."""
    _with_engine(lambda engine: accounts.lock(engine, username, store.now()))
    typer.echo(f"Locked {username}.")


@users_app.command("unlock")
def users_unlock(username: Annotated[str, typer.Argument(help="The account to unlock.")]) -> None:
    """Unlock an account (an administrator's lock or one after failed logins)."""
    _with_engine(lambda engine: accounts.unlock(engine, username, store.now()))
    typer.echo(f"Unlocked {username}.")


@users_app.command("passwd")
def users_passwd(
    username: Annotated[str, typer.Argument(help="The account.")],
    password_file: PasswordFile = None,
) -> None:
    """Set a new password for an account and end its sessions."""
    password = _password(password_file)
    _with_engine(lambda engine: accounts.set_password(engine, username, password, store.now()))
    typer.echo(f"New password set for {username}.")


def main() -> None:
    """Entry point for `python -m shafa`."""
    sys.exit(app())
