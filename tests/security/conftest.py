"""A live Shafa and its database, with helpers to register clients and read tokens."""

import asyncio
import base64
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from shafa.config import Settings
from shafa.db.engine import create_engine
from shafa.fhir.store import now
from shafa.security import oauth
from shafa.security.keys import KeyRing
from shafa.security.tokens import Audience, TokenClaims, read_header, verify_access_token
from tests.conftest import Database, LiveServer

if TYPE_CHECKING:
    from tests.security.country import Country

T = TypeVar("T")


@dataclass
class Realm:
    """A live server over an emptied database of one backend."""

    server: LiveServer
    database: Database
    http: httpx.Client  # at the server's root

    @property
    def root(self) -> str:
        """The issuer: the root URL the server is reached at."""
        return f"http://127.0.0.1:{self.server.port}"

    @property
    def audience(self) -> Audience:
        """What the server's tokens say of issuer, audience and algorithm."""
        return Audience(self.root, self.server.base, "ES256")

    @property
    def policy(self) -> oauth.Policy:
        """The server's token policy."""
        return oauth.policy(Settings(database_url=self.database.url), self.root)

    def run(self, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
        """Run work with an engine over the server's database."""

        async def go() -> T:
            engine = create_engine(Settings(database_url=self.database.url))
            try:
                return await work(engine)
            finally:
                await engine.dispose()

        return asyncio.run(go())

    def add_client(self, name: str, scope: str, **options: Any) -> tuple[str, str | None]:
        """Register a client: (client_id, client_secret)."""
        client, secret = self.run(lambda e: oauth.add_client(e, name, scope, now(), **options))
        return client.client_id, secret

    def token(self, form: dict[str, str], **kwargs: Any) -> httpx.Response:
        """POST the form to the token endpoint."""
        return self.http.post("/oauth2/token", data=form, **kwargs)

    def client_credentials(
        self, client_id: str, secret: str, scope: str | None = None
    ) -> httpx.Response:
        """A client_credentials request with client_secret_basic."""
        form = {"grant_type": "client_credentials"} | ({"scope": scope} if scope else {})
        return self.token(form, headers={"Authorization": basic(client_id, secret)})

    def verify(self, token: str, at: datetime | None = None) -> TokenClaims:
        """Verify an access token as a resource server of this realm would."""
        return self.run(
            lambda e: verify_access_token(token, KeyRing(e), self.audience, at or now())
        )

    @staticmethod
    def kid_of(token: str) -> str:
        """The kid in a token's header."""
        kid: str = read_header(token)["kid"]
        return kid


def basic(client_id: str, secret: str) -> str:
    """An HTTP Basic Authorization header value."""
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


@pytest.fixture
def realm(server: LiveServer, database: Database) -> Iterator[Realm]:
    """A live server whose database starts empty."""
    database.truncate()
    with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=60) as http:
        yield Realm(server, database, http)


@pytest.fixture(scope="session")
def guarded_server(database: Database) -> Iterator[LiveServer]:
    """A live server that asks every FHIR request for an access token, as production does."""
    with LiveServer(Settings(database_url=database.url, fhir_auth_required=True)) as live:
        yield live


@pytest.fixture
def guarded(guarded_server: LiveServer, database: Database) -> Iterator[Realm]:
    """The guarded server over an emptied database."""
    database.truncate()
    root = f"http://127.0.0.1:{guarded_server.port}"
    with httpx.Client(base_url=root, timeout=60) as http:
        yield Realm(guarded_server, database, http)


@pytest.fixture
def country(guarded: Realm) -> "Country":
    """The guarded server holding tests.security.country's patients and professionals."""
    from tests.security.country import Country

    return Country(guarded)
