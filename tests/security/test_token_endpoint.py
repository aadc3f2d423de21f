"""The token endpoint over real HTTP: a hospital system, a laboratory, an app, and intruders."""

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from shafa.db.engine import write_transaction
from shafa.fhir.store import now
from shafa.security import keys, oauth
from shafa.security.tokens import TokenRefused, s256_challenge
from tests.security.conftest import Realm, basic

VERIFIER = "a-verifier-of-the-app-0123456789-abcdefghijklmnop"
REDIRECT = "https://app.example.az/callback"


def test_a_hospital_system_gets_a_token_with_everything_it_may_have(realm: Realm) -> None:
    client_id, secret = realm.add_client("Central Hospital HIS", "system/*.cruds")
    assert secret is not None

    answer = realm.client_credentials(client_id, secret)

    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "system/*.cruds"
    assert body["expires_in"] == 600
    assert "refresh_token" not in body  # RFC 6749 §4.4.3
    claims = realm.verify(body["access_token"])
    assert claims.subject == claims.client_id == client_id
    assert claims.issuer == realm.root
    assert claims.audience == realm.server.base
    assert claims.scope == "system/*.cruds"
    assert claims.expires - claims.issued == timedelta(seconds=600)
    assert claims.token_id


def test_client_secret_post_works_and_a_narrower_scope_is_granted(realm: Realm) -> None:
    client_id, secret = realm.add_client("Laboratory", "system/Observation.cruds system/*.rs")
    assert secret is not None
    form = {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_secret": secret,
        "scope": "system/Observation.cu system/Patient.read",
    }
    answer = realm.token(form)
    assert answer.status_code == 200, answer.text
    assert answer.json()["scope"] == "system/Observation.cu system/Patient.rs"
    assert realm.verify(answer.json()["access_token"]).scopes.resources[1].resource_type == (
        "Patient"
    )


@pytest.mark.parametrize(
    "asked",
    ["system/Patient.cruds", "system/Observation.rs", "patient/Patient.rs", "system/*.rs"],
)
def test_asking_for_more_than_allowed_is_invalid_scope(realm: Realm, asked: str) -> None:
    client_id, secret = realm.add_client("Pharmacy till", "system/Patient.rs")
    assert secret is not None
    answer = realm.client_credentials(client_id, secret, asked)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_scope"
    assert "more than this client may have" in answer.json()["error_description"]


def test_a_malformed_scope_is_invalid_scope(realm: Realm) -> None:
    client_id, secret = realm.add_client("Pharmacy till", "system/Patient.rs")
    assert secret is not None
    answer = realm.client_credentials(client_id, secret, "system/Patient.rs?code=x")
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_scope"


def test_a_wrong_secret_is_invalid_client_with_a_basic_challenge(realm: Realm) -> None:
    client_id, _secret = realm.add_client("Central Hospital HIS", "system/*.cruds")
    answer = realm.client_credentials(client_id, "guessed")
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"
    assert answer.headers["www-authenticate"].startswith("Basic")
    assert answer.headers["cache-control"] == "no-store"

    posted = realm.token(
        {"grant_type": "client_credentials", "client_id": client_id, "client_secret": "guessed"}
    )
    assert posted.status_code == 401
    assert posted.json()["error"] == "invalid_client"
    assert "www-authenticate" not in posted.headers

    stranger = realm.client_credentials("nobody", "guessed")
    assert (stranger.status_code, stranger.json()["error"]) == (401, "invalid_client")


def test_a_disabled_client_gets_no_token(realm: Realm) -> None:
    client_id, secret = realm.add_client("Retired HIS", "system/*.rs")
    assert secret is not None
    assert realm.run(lambda e: oauth.disable_client(e, client_id))
    answer = realm.client_credentials(client_id, secret)
    assert answer.status_code == 401
    assert answer.json() == {
        "error": "invalid_client",
        "error_description": "The client is disabled",
    }


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({}, "invalid_request"),
        ({"grant_type": "password"}, "unsupported_grant_type"),
        ({"grant_type": "refresh_token"}, "invalid_request"),
        ({"grant_type": "authorization_code"}, "invalid_request"),
    ],
)
def test_requests_that_make_no_sense_are_refused(
    realm: Realm, form: dict[str, str], error: str
) -> None:
    client_id, secret = realm.add_client(
        "App backend",
        "system/*.rs",
        grant_types=("client_credentials", "authorization_code", "refresh_token"),
        redirect_uris=(REDIRECT,),
    )
    assert secret is not None
    answer = realm.token(form, headers={"Authorization": basic(client_id, secret)})
    assert answer.status_code == 400
    assert answer.json()["error"] == error


def test_a_form_that_is_not_a_form_or_repeats_itself_is_invalid_request(realm: Realm) -> None:
    client_id, secret = realm.add_client("HIS", "system/*.rs")
    assert secret is not None
    as_json = realm.http.post("/oauth2/token", json={"grant_type": "client_credentials"})
    assert as_json.json()["error"] == "invalid_request"
    repeated = realm.http.post(
        "/oauth2/token",
        content="grant_type=client_credentials&scope=system/*.rs&scope=system/*.rs",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": basic(client_id, secret),
        },
    )
    assert repeated.json()["error"] == "invalid_request"
    both = realm.token(
        {"grant_type": "client_credentials", "client_secret": secret},
        headers={"Authorization": basic(client_id, secret)},
    )
    assert both.json()["error"] == "invalid_request"


def test_a_client_may_use_only_its_grant_types(realm: Realm) -> None:
    client_id, secret = realm.add_client("HIS", "system/*.rs")
    assert secret is not None
    answer = realm.token(
        {"grant_type": "refresh_token", "refresh_token": "x"},
        headers={"Authorization": basic(client_id, secret)},
    )
    assert (answer.status_code, answer.json()["error"]) == (400, "unauthorized_client")


# --- authorization code with PKCE, and refresh tokens ---------------------------------------


def _app(realm: Realm, scope: str = "patient/*.rs launch/patient offline_access") -> str:
    """A public app registered for the code grant and refresh tokens; its client_id."""
    client_id, secret = realm.add_client(
        "Citizen app",
        scope,
        grant_types=("authorization_code", "refresh_token"),
        redirect_uris=(REDIRECT,),
        public=True,
    )
    assert secret is None
    return client_id


def _code(realm: Realm, client_id: str, **options: object) -> str:
    """An authorization code, as the login will issue it after the citizen approved."""
    arguments: dict[str, object] = {
        "redirect_uri": REDIRECT,
        "code_challenge": s256_challenge(VERIFIER),
        "scope": "patient/*.rs launch/patient offline_access",
        "subject": "citizen-1",
        "fhir_user": "Patient/p1",
        "patient": "p1",
        "policy": realm.policy,
        "now": now(),
    } | options
    return realm.run(
        lambda e: oauth.create_authorization_code(e, client_id, **arguments)  # type: ignore[arg-type]
    )


def _exchange(realm: Realm, client_id: str, code: str, verifier: str = VERIFIER) -> dict:
    form = {
        "grant_type": "authorization_code",
        "client_id": client_id,
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    return realm.token(form).json()


def _refresh(realm: Realm, client_id: str, token: str, **more: str) -> dict:
    form = {"grant_type": "refresh_token", "client_id": client_id, "refresh_token": token}
    return realm.token(form | more).json()


def test_an_app_exchanges_a_code_and_its_verifier_for_tokens(realm: Realm) -> None:
    client_id = _app(realm)
    body = _exchange(realm, client_id, _code(realm, client_id))
    assert body["patient"] == "p1"
    assert body["scope"] == "patient/*.rs launch/patient offline_access"
    assert body["refresh_token"]
    claims = realm.verify(body["access_token"])
    assert (claims.subject, claims.fhir_user, claims.patient) == ("citizen-1", "Patient/p1", "p1")
    assert claims.client_id == client_id


def test_a_wrong_pkce_verifier_is_invalid_grant(realm: Realm) -> None:
    client_id = _app(realm)
    code = _code(realm, client_id)
    other = "another-verifier-0123456789-abcdefghijklmnopqrstu"
    refused = _exchange(realm, client_id, code, other)
    assert refused["error"] == "invalid_grant"
    assert "PKCE" in refused["error_description"]
    assert "access_token" in _exchange(realm, client_id, code)  # the right app still can


def test_a_code_for_another_redirect_or_client_or_too_old_is_invalid_grant(realm: Realm) -> None:
    client_id = _app(realm)
    moved = _code(realm, client_id, redirect_uri="https://evil.example/cb")
    assert _exchange(realm, client_id, moved)["error"] == "invalid_grant"
    other_app = _app(realm)
    assert _exchange(realm, other_app, _code(realm, client_id))["error"] == "invalid_grant"
    stale = _code(realm, client_id, now=now() - timedelta(minutes=5))
    assert "expired" in _exchange(realm, client_id, stale)["error_description"]


def test_a_code_used_twice_is_refused_and_its_refresh_tokens_revoked(realm: Realm) -> None:
    client_id = _app(realm)
    code = _code(realm, client_id)
    first = _exchange(realm, client_id, code)
    again = _exchange(realm, client_id, code)
    assert again["error"] == "invalid_grant"
    assert "already used" in again["error_description"]
    assert _refresh(realm, client_id, first["refresh_token"])["error"] == "invalid_grant"


def test_refresh_tokens_rotate_and_reuse_revokes_the_family(realm: Realm) -> None:
    client_id = _app(realm)
    first = _exchange(realm, client_id, _code(realm, client_id))

    second = _refresh(realm, client_id, first["refresh_token"])
    assert second["refresh_token"] != first["refresh_token"]
    assert realm.verify(second["access_token"]).patient == "p1"
    third = _refresh(realm, client_id, second["refresh_token"])
    assert "access_token" in third

    # Someone replays the first token: refused, and the owner's newest token dies with it.
    replay = _refresh(realm, client_id, first["refresh_token"])
    assert replay["error"] == "invalid_grant"
    assert "family is revoked" in replay["error_description"]
    assert _refresh(realm, client_id, third["refresh_token"])["error"] == "invalid_grant"


def test_a_refresh_may_narrow_the_scope_but_never_widen_it(realm: Realm) -> None:
    client_id = _app(realm)
    first = _exchange(realm, client_id, _code(realm, client_id))
    wider = _refresh(realm, client_id, first["refresh_token"], scope="patient/*.cruds")
    assert wider["error"] == "invalid_scope"
    narrower = _refresh(
        realm, client_id, first["refresh_token"], scope="patient/Observation.rs offline_access"
    )
    assert narrower["scope"] == "patient/Observation.rs offline_access"


def test_refresh_tokens_of_another_client_or_unknown_are_invalid_grant(realm: Realm) -> None:
    client_id = _app(realm)
    first = _exchange(realm, client_id, _code(realm, client_id))
    assert _refresh(realm, _app(realm), first["refresh_token"])["error"] == "invalid_grant"
    assert _refresh(realm, client_id, "made-up")["error"] == "invalid_grant"


def test_a_public_app_cannot_use_client_credentials(realm: Realm) -> None:
    client_id = _app(realm)
    answer = realm.token({"grant_type": "client_credentials", "client_id": client_id})
    assert answer.json()["error"] == "unauthorized_client"


# --- discovery and keys ---------------------------------------------------------------------


def test_smart_configuration_is_served_at_the_root_and_the_fhir_base(realm: Realm) -> None:
    at_root = realm.http.get("/.well-known/smart-configuration")
    at_base = realm.http.get("/fhir/.well-known/smart-configuration")
    assert at_root.status_code == at_base.status_code == 200
    assert at_root.json() == at_base.json()
    config = at_root.json()
    assert config["issuer"] == realm.root
    assert config["token_endpoint"] == f"{realm.root}/oauth2/token"
    assert config["authorization_endpoint"] == f"{realm.root}/oauth2/authorize"
    assert config["jwks_uri"] == f"{realm.root}/.well-known/jwks.json"
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert {"client_credentials", "authorization_code", "refresh_token"} <= set(
        config["grant_types_supported"]
    )
    assert {"permission-v2", "client-confidential-symmetric"} <= set(config["capabilities"])
    assert realm.http.get("/fhir/metadata").status_code == 200  # the FHIR API is as it was


def test_rotation_keeps_old_tokens_verifying_until_the_old_key_retires(realm: Realm) -> None:
    client_id, secret = realm.add_client("HIS", "system/*.rs")
    assert secret is not None
    old = realm.client_credentials(client_id, secret).json()["access_token"]
    assert [k["kid"] for k in realm.http.get("/.well-known/jwks.json").json()["keys"]] == [
        realm.kid_of(old)
    ]

    overlap = realm.policy.key_overlap

    async def rotate(engine: AsyncEngine) -> keys.KeyInfo:
        async with write_transaction(engine) as conn:
            return await keys.rotate(conn, now(), "ES256", overlap)

    made = realm.run(rotate)
    new = realm.client_credentials(client_id, secret).json()["access_token"]
    assert realm.kid_of(new) == made.kid != realm.kid_of(old)
    published = realm.http.get("/.well-known/jwks.json").json()["keys"]
    assert {k["kid"] for k in published} == {made.kid, realm.kid_of(old)}
    assert all("d" not in k for k in published)  # no private part, ever
    assert realm.verify(old).client_id == realm.verify(new).client_id == client_id

    # Once retired, the old key verifies nothing: refused for its kid, before its expiry.
    after = now() + overlap + timedelta(seconds=1)
    with pytest.raises(TokenRefused) as refused:
        realm.verify(old, at=after)
    assert refused.value.reason == "unknown_kid"
    listed = realm.run(_list_keys)
    assert [k.kid for k in listed if k.live(after)] == [made.kid]


async def _list_keys(engine: AsyncEngine) -> list[keys.KeyInfo]:
    async with write_transaction(engine) as conn:
        return await keys.list_keys(conn)
