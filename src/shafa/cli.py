"""The `shafa` command: serve, db, demo, users, clients, keys, audit, registry."""

import asyncio
import json
import secrets
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import rich.console
import rich.progress
import typer
import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine

from shafa import registries
from shafa.config import Settings, get_settings
from shafa.db import migrate
from shafa.db.engine import create_engine, read_transaction, write_transaction
from shafa.fhir import store
from shafa.fhir.errors import FhirError
from shafa.registries import medicines
from shafa.security import accounts, audit, keys, oauth, rules
from shafa.security.rules import Role
from shafa.synthetic import country, load

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
registry_app = typer.Typer(help="The national registries.", no_args_is_help=True)
app.add_typer(registry_app, name="registry")
medicines_app = typer.Typer(
    help="The medicinal product register, as CSV (docs/registries.md).", no_args_is_help=True
)
registry_app.add_typer(medicines_app, name="medicines")


WORKER_HEALTHCHECK_SECONDS = 60


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
        # The supervisor of several workers kills one that leaves its ping unanswered this long.
        # uvicorn's 5 s is less than a worker takes to start on a busy machine (it loads the
        # code systems and the matcher's model before serving), or to finish a long request.
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
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
    citizens: Annotated[
        int,
        typer.Option(
            min=1,
            help="Citizens of the synthetic country (about 10 resources each); a million "
            "builds the benchmark country, into PostgreSQL.",
        ),
    ] = 2000,
    seed: Annotated[int, typer.Option(help="Seed of the deterministic generator.")] = 1,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="Processes loading households (PostgreSQL; default: cores)."),
    ] = None,
    with_accounts: Annotated[
        bool,
        typer.Option(
            "--accounts",
            help="Also add demo accounts (a doctor of the first citizen's polyclinic, a system "
            "administrator there, the first citizen) and print their credentials; never in "
            "production.",
        ),
    ] = False,
) -> None:
    """Load a deterministic synthetic country: facilities, doctors, citizens in households and
    their records (idempotent: PUTs with fixed ids)."""
    settings = get_settings()
    try:
        asyncio.run(_check_migrated(settings))
        with rich.progress.Progress(
            *rich.progress.Progress.get_default_columns(),
            rich.progress.TextColumn("{task.completed:,} resources"),
            transient=True,
            disable=not sys.stderr.isatty(),
            console=rich.console.Console(stderr=True),
        ) as bar:
            task = bar.add_task("Loading", total=load.expected_resources(citizens, seed))
            loaded = load.load(
                settings,
                citizens,
                seed,
                workers=workers,
                progress=lambda count: bar.advance(task, count),
            )
        added = asyncio.run(_demo_accounts(settings)) if with_accounts else []
    except migrate.DatabaseNotMigrated as error:
        typer.echo(f"shafa: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"Demo country: {loaded.resources:,} resources of {citizens:,} citizens are in the "
        f"database ({loaded.per_second:,.0f} resources/s)."
    )
    for line in added:
        typer.echo(line)


async def _check_migrated(settings: Settings) -> None:
    engine = create_engine(settings)
    try:
        await migrate.ensure_migrated(engine, settings.database_url)
    finally:
        await engine.dispose()


# The demo's people: (username, role, Practitioner id, display name); the doctor is the first
# citizen's GP, as the country has her. Passwords are made afresh and shown once; a staff
# member's second factor is the TOTP secret printed beside it.
DEMO_STAFF = (
    ("demo.doctor", Role.DOCTOR, "", ""),
    ("demo.admin", Role.SYSTEM_ADMIN, "demo-admin", "Rəşad Məmmədov"),
)
DEMO_CITIZEN = "demo.citizen"


async def _demo_accounts(settings: Settings) -> list[str]:
    """Add the demo's accounts that are missing; lines saying how to sign in as each."""
    engine = create_engine(settings)
    lines = []
    try:
        existing = {account.identity.username for account in await accounts.list_accounts(engine)}
        async with read_transaction(engine) as conn:
            first = (await store.read(conn, "Patient", country.patient_id(1))).resource()
        clinic = first["managingOrganization"]["reference"]
        doctor = first["generalPractitioner"][0]["reference"].removeprefix("Practitioner/")
        for username, role, practitioner, name in DEMO_STAFF:
            if username in existing:
                lines.append(f"{username}: exists (reset with `shafa users passwd {username}`)")
                continue
            if role is Role.DOCTOR:  # the country's own licensed doctor, as the registry has her
                practitioner = doctor
                async with read_transaction(engine) as conn:
                    found = (await store.read(conn, "Practitioner", doctor)).resource()
                official = found["name"][0]
                name = f"Dr {' '.join(official['given'])} {official['family']}"
            else:
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
            fin = next(i["value"] for i in first["identifier"] if i["system"] == rules.FIN_SYSTEM)
            password = secrets.token_urlsafe(12)
            await accounts.add_citizen(
                engine, username=DEMO_CITIZEN, password=password, fin=fin, display_name=None,
                now=store.now(),
            )  # fmt: skip
            lines.append(f"{DEMO_CITIZEN} (citizen, FIN {fin}): password {password}")
    finally:
        await engine.dispose()
    return lines


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
            return await keys.rotate(
                conn,
                store.now(),
                settings.signing_algorithm,
                overlap,
                passphrase=settings.key_passphrase(),
            )

    made = _with_engine(rotate)
    typer.echo(f"New signing key {made.kid} ({made.algorithm}) is active.")


@keys_app.command("encrypt")
def keys_encrypt() -> None:
    """Encrypt the stored private keys still in the clear under SHAFA_SIGNING_KEY_PASSPHRASE."""
    passphrase = get_settings().key_passphrase()
    if passphrase is None:
        typer.echo("shafa: set SHAFA_SIGNING_KEY_PASSPHRASE_FILE (or _PASSPHRASE) first", err=True)
        raise typer.Exit(2)

    async def encrypt(engine: AsyncEngine) -> list[str]:
        async with write_transaction(engine) as conn:
            return await keys.encrypt_stored(conn, passphrase)

    done = _with_engine(encrypt)
    typer.echo(f"{len(done)} signing key(s) encrypted" + (f": {', '.join(done)}" if done else "."))


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


@medicines_app.command("import")
def medicines_import(
    file: Annotated[Path, typer.Argument(help="The CSV: a header row, then one row per pack.")],
) -> None:
    """Register or update every pack of the file, all or none (idempotent by registration
    number); exit 1 naming the line and column refused."""
    try:
        text = file.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        typer.echo(f"shafa: cannot read {file}: {error}", err=True)
        raise typer.Exit(1) from None
    registries.install()
    try:
        result = _with_engine(lambda engine: medicines.import_csv(engine, text, store.now()))
    except FhirError as error:
        typer.echo(f"shafa: {file}: {error}; nothing was imported", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{file}: {result}.")


@medicines_app.command("export")
def medicines_export(
    file: Annotated[
        Path | None, typer.Argument(help="Where to write the CSV; standard output if left out.")
    ] = None,
) -> None:
    """Write the whole register as CSV, as `import` reads it."""
    text = _with_engine(medicines.export_csv)
    if file is None:
        sys.stdout.write(text)
        return
    file.write_text(text, "utf-8")
    typer.echo(f"{file}: {text.count(chr(10)) - 1} registered pack(s).", err=True)


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
