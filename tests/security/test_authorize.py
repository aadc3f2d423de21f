"""The authorization endpoint and its consent page over real HTTP (SMART standalone launch).

Leyla, a citizen, lets her phone app read her record; Tural is another citizen; Nigar is a
nurse and Samir an analyst. Intruders try other return addresses, skip PKCE, name another
server, ask for more than anyone may have, forge the consent form and replay codes.
"""

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pyotp
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from shafa.fhir.store import now
from shafa.security import accounts, audit
from shafa.security.rules import FIN_SYSTEM, Role
from shafa.security.tables import authorization_codes
from shafa.security.tokens import s256_challenge
from tests.conftest import REGISTRY_KEEPER_SCOPE
from tests.security.conftest import Realm

REDIRECT = "https://app.example.az/callback"
VERIFIER = "leylas-phone-app-verifier-0123456789-abcdefghijklmnop"
PASSWORD = "a long enough passphrase"
STATE = "af0ifjsldkj/é ?&=+"  # echoed exactly, whatever it holds
APP_SCOPES = "patient/*.rs user/*.cruds openid fhirUser launch/patient offline_access"


@dataclass
class People:
    """The accounts of the story and the app they use."""

    app: str  # the app's client_id
    user_ids: dict[str, int]
    nurse_totp: str
    analyst_totp: str


def _put(client: httpx.Client, resource: dict) -> None:
    answer = client.put(f"/{resource['resourceType']}/{resource['id']}", json=resource)
    assert answer.status_code in (200, 201), answer.text


@pytest.fixture
def people(guarded: Realm) -> People:
    client_id, secret = guarded.add_client("Loader", REGISTRY_KEEPER_SCOPE)
    assert secret is not None
    token = guarded.client_credentials(client_id, secret).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
    with httpx.Client(base_url=guarded.server.base, headers=headers, timeout=60) as fhir:
        _put(fhir, {"resourceType": "Organization", "id": "clinic-1", "name": "Clinic 1"})
        _put(fhir, {"resourceType": "Practitioner", "id": "nigar"})
        for patient, fin in (("leyla", "5ABC123"), ("tural", "7XYZ890")):
            identifier = [{"system": FIN_SYSTEM, "value": fin}]
            _put(fhir, {"resourceType": "Patient", "id": patient, "identifier": identifier})

    async def add(engine: AsyncEngine) -> People:
        moment = now()
        ids = {}
        for name, fin in (("leyla", "5ABC123"), ("tural", "7XYZ890")):
            citizen = await accounts.add_citizen(
                engine, username=name, password=PASSWORD, fin=fin, now=moment
            )
            ids[name] = citizen.user_id
        totps = {}
        for name, role in (("nigar", Role.NURSE), ("samir", Role.ANALYST)):
            staff = await accounts.add_staff(
                engine,
                username=name,
                password=PASSWORD,
                role=role,
                display_name=name.title(),
                organization="Organization/clinic-1",
                practitioner="Practitioner/nigar",
                now=moment,
            )
            ids[name] = staff.identity.user_id
            totps[name] = staff.totp_secret
        return People("", ids, totps["nigar"], totps["samir"])

    found = guarded.run(add)
    app_id, _ = guarded.add_client(
        "Leyla's phone app",
        APP_SCOPES,
        grant_types=("authorization_code", "refresh_token"),
        redirect_uris=(REDIRECT, "myapp:/back"),
        public=True,
    )
    found.app = app_id
    return found


@pytest.fixture
def browser(guarded: Realm) -> Iterator[httpx.Client]:
    """A browser of its own: cookies, no redirects followed."""
    with httpx.Client(base_url=guarded.root, timeout=60) as client:
        yield client


def _hidden(page: str) -> dict[str, str]:
    return {
        html.unescape(name): html.unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)
    }


def sign_in(browser: httpx.Client, username: str, totp: str = "", next: str = "") -> httpx.Response:
    form_page = browser.get("/login", params={"next": next} if next else {})
    fields = _hidden(form_page.text)
    fields |= {"username": username, "password": PASSWORD, "totp": totp}
    return browser.post("/login", data=fields)


def authorize_params(realm: Realm, app: str, **changes: str | None) -> dict[str, str]:
    params: dict[str, str | None] = {
        "response_type": "code",
        "client_id": app,
        "redirect_uri": REDIRECT,
        "scope": "patient/*.rs openid fhirUser launch/patient",
        "state": STATE,
        "aud": realm.server.base,
        "code_challenge": s256_challenge(VERIFIER),
        "code_challenge_method": "S256",
        "nonce": "n-0S6_WzA2Mj",
    } | changes
    return {name: value for name, value in params.items() if value is not None}


def _answer(response: httpx.Response) -> dict[str, str]:
    """The query the app receives at its redirect URI."""
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT + "?"), location
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


def consent(browser: httpx.Client, params: dict[str, str], decision: str) -> httpx.Response:
    page = browser.get("/oauth2/authorize", params=params)
    assert page.status_code == 200, page.text
    return browser.post("/oauth2/consent", data=_hidden(page.text) | {"decision": decision})


def exchange(realm: Realm, app: str, code: str) -> httpx.Response:
    return realm.token(
        {
            "grant_type": "authorization_code",
            "client_id": app,
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": VERIFIER,
        }
    )


def _codes(realm: Realm) -> int:
    async def count(engine: AsyncEngine) -> int:
        async with engine.connect() as conn:
            return int(await conn.scalar(select(func.count()).select_from(authorization_codes)))

    return realm.run(count)


# --- the story ------------------------------------------------------------------------------


def test_leyla_signs_in_approves_her_app_and_it_reads_her_record_only(
    guarded: Realm, people: People, browser: httpx.Client
) -> None:
    params = authorize_params(guarded, people.app)
    first = browser.get("/oauth2/authorize", params=params)
    assert first.status_code == 303
    to_login = urlsplit(first.headers["location"])
    assert to_login.path == "/login"
    next_url = parse_qs(to_login.query)["next"][0]
    assert next_url.startswith("/oauth2/authorize?")

    signed_in = sign_in(browser, "leyla", next=next_url)
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == next_url

    page = browser.get(next_url + "&lang=en")
    assert page.status_code == 200
    assert "Leyla&#39;s phone app" in page.text
    assert "Read and search all of your health records" in page.text
    assert "leyla" in page.text and "app.example.az" in page.text
    assert "form-action 'self' https://app.example.az" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    approved = browser.post("/oauth2/consent", data=_hidden(page.text) | {"decision": "approve"})
    answer = _answer(approved)
    assert answer["state"] == STATE
    assert set(answer) == {"code", "state"}

    tokens = exchange(guarded, people.app, answer["code"])
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert body["scope"] == "patient/*.rs fhirUser launch/patient openid"
    assert body["patient"] == "leyla"
    claims = guarded.verify(body["access_token"])
    assert claims.subject == str(people.user_ids["leyla"])
    assert (claims.patient, claims.fhir_user) == ("leyla", "Patient/leyla")

    jwks = KeySet.import_key_set(guarded.http.get("/.well-known/jwks.json").json())
    id_token = jwt.decode(body["id_token"], jwks, algorithms=["ES256"]).claims
    assert id_token["iss"] == guarded.root
    assert id_token["aud"] == people.app
    assert id_token["sub"] == str(people.user_ids["leyla"])
    assert id_token["nonce"] == "n-0S6_WzA2Mj"
    assert id_token["fhirUser"] == "Patient/leyla"
    assert id_token["exp"] > id_token["iat"]

    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    with httpx.Client(base_url=guarded.server.base, headers=bearer, timeout=60) as app:
        assert app.get("/Patient/leyla").status_code == 200
        assert app.get("/Patient/tural").status_code == 403
        assert app.post("/Patient", json={"resourceType": "Patient"}).status_code == 403

    replay = exchange(guarded, people.app, answer["code"])
    assert (replay.status_code, replay.json()["error"]) == (400, "invalid_grant")


def test_the_approval_and_the_denial_are_audited_and_a_denial_sends_access_denied(
    guarded: Realm, people: People, browser: httpx.Client
) -> None:
    sign_in(browser, "leyla")
    params = authorize_params(guarded, people.app)
    assert "code" in _answer(consent(browser, params, "approve"))
    denied = _answer(consent(browser, params, "deny"))
    assert denied["error"] == "access_denied" and denied["state"] == STATE

    async def records(engine: AsyncEngine) -> list[audit.AuditRecord]:
        async with engine.connect() as conn:
            page = await audit.search_log(conn, client_id=people.app)
        return [stored.entry for stored in page.records]

    entries = guarded.run(records)
    assert {(e.action, e.outcome, e.outcome_code) for e in entries} == {
        (audit.Action.LOGIN, audit.Outcome.SUCCESS, "app-approved"),
        (audit.Action.LOGIN_REFUSED, audit.Outcome.REFUSED, "access_denied"),
    }
    assert all(e.user_id == str(people.user_ids["leyla"]) and e.patients == ("leyla",)
               for e in entries)  # fmt: skip


def test_a_nurse_gets_user_scopes_cut_to_her_ceiling_and_no_patient(
    guarded: Realm, people: People, browser: httpx.Client
) -> None:
    sign_in(browser, "nigar", pyotp.TOTP(people.nurse_totp).now())
    asked = "user/*.cruds patient/*.rs launch/patient fhirUser"
    answer = _answer(
        consent(browser, authorize_params(guarded, people.app, scope=asked), "approve")
    )
    body = exchange(guarded, people.app, answer["code"]).json()
    assert body["scope"] == "user/*.crus fhirUser"  # no d, no patient/, no launch/patient
    assert "patient" not in body and "id_token" not in body
    claims = guarded.verify(body["access_token"])
    assert claims.subject == str(people.user_ids["nigar"])
    assert (claims.fhir_user, claims.patient) == ("Practitioner/nigar", None)


@pytest.mark.parametrize(
    ("who", "asked"),
    [
        ("leyla", "user/*.cruds"),  # a citizen gets no user/ scope
        ("nigar", "user/Patient.d"),  # nurses do not delete
        ("samir", "user/*.rs"),  # analysts see no patient's data through apps
    ],
)
def test_asking_past_the_role_leaves_nothing_and_is_invalid_scope(
    guarded: Realm, people: People, browser: httpx.Client, who: str, asked: str
) -> None:
    totp = {"nigar": people.nurse_totp, "samir": people.analyst_totp}.get(who)
    sign_in(browser, who, pyotp.TOTP(totp).now() if totp else "")
    answer = _answer(browser.get("/oauth2/authorize", params=authorize_params(
        guarded, people.app, scope=asked)))  # fmt: skip
    assert answer["error"] == "invalid_scope" and answer["state"] == STATE
    assert _codes(guarded) == 0


def test_a_citizen_asking_for_user_and_patient_scopes_gets_the_patient_ones(
    guarded: Realm, people: People, browser: httpx.Client
) -> None:
    sign_in(browser, "leyla")
    params = authorize_params(guarded, people.app, scope="user/*.cruds patient/Observation.rs")
    answer = _answer(consent(browser, params, "approve"))
    assert exchange(guarded, people.app, answer["code"]).json()["scope"] == (
        "patient/Observation.rs"
    )


def test_an_app_asking_beyond_its_registration_is_invalid_scope(
    guarded: Realm, people: People, browser: httpx.Client
) -> None:
    sign_in(browser, "leyla")
    answer = _answer(browser.get("/oauth2/authorize", params=authorize_params(
        guarded, people.app, scope="system/*.rs")))  # fmt: skip
    assert answer["error"] == "invalid_scope"
    assert "more than this client may have" in answer["error_description"]


# --- requests that are refused ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),  # no method means plain
        ({"code_challenge": "short"}, "invalid_request"),
        ({"aud": "https://other.example/fhir"}, "invalid_request"),
        ({"aud": None}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": None}, "invalid_request"),
        ({"scope": None}, "invalid_scope"),
        ({"scope": "patient/Nothing.rs"}, "invalid_scope"),
        ({"launch": "xyz"}, "invalid_request"),
    ],
)
def test_bad_requests_go_back_to_the_app_with_the_error_and_the_state(
    guarded: Realm, people: People, browser: httpx.Client, changes: dict, error: str
) -> None:
    sign_in(browser, "leyla")
    answer = _answer(browser.get("/oauth2/authorize", params=authorize_params(
        guarded, people.app, **changes)))  # fmt: skip
    assert answer["error"] == error
    assert answer["state"] == STATE
    assert answer["error_description"]


def test_no_state_is_refused_without_one(
    guarded: Realm, people: People, browser: httpx.Client
) -> None:
    answer = _answer(browser.get("/oauth2/authorize", params=authorize_params(
        guarded, people.app, state=None)))  # fmt: skip
    assert answer["error"] == "invalid_request" and "state" not in answer


@pytest.mark.parametrize(
    ("changes", "language", "message"),
    [
        ({"redirect_uri": "https://evil.example/callback"}, "en", "return address"),
        ({"redirect_uri": REDIRECT + "/"}, "en", "return address"),  # exact match only
        ({"redirect_uri": None}, "en", "return address"),
        ({"client_id": "nobody"}, "en", "does not know this app"),
        ({"client_id": None}, "az", "Şəfa bu tətbiqi tanımır"),  # noqa: RUF001
    ],
)
def test_an_untrusted_client_or_return_address_is_told_here_never_redirected(
    guarded: Realm,
    people: People,
    browser: httpx.Client,
    changes: dict,
    language: str,
    message: str,
) -> None:
    sign_in(browser, "leyla")
    params = authorize_params(guarded, people.app, **changes) | {"lang": language}
    page = browser.get("/oauth2/authorize", params=params)
    assert page.status_code == 400
    assert "location" not in page.headers
    assert message in page.text
    assert "evil.example" not in page.text


def test_a_repeated_redirect_uri_is_not_trusted(
    guarded: Realm, people: People, browser: httpx.Client
) -> None:
    query = urlencode(authorize_params(guarded, people.app)) + "&" + urlencode(
        {"redirect_uri": "myapp:/back"})  # fmt: skip
    page = browser.get(f"/oauth2/authorize?{query}")
    assert page.status_code == 400 and "location" not in page.headers


def test_a_disabled_app_or_one_without_the_code_grant_is_refused(
    guarded: Realm, people: People, browser: httpx.Client
) -> None:
    from shafa.security import oauth

    sign_in(browser, "leyla")
    system, _ = guarded.add_client("HIS", "patient/*.rs", redirect_uris=(REDIRECT,))
    answer = _answer(browser.get("/oauth2/authorize", params=authorize_params(guarded, system)))
    assert answer["error"] == "unauthorized_client"
    assert guarded.run(lambda e: oauth.disable_client(e, people.app))
    page = browser.get("/oauth2/authorize", params=authorize_params(guarded, people.app))
    assert page.status_code == 400 and "location" not in page.headers


# --- the consent form cannot be forged -------------------------------------------------------


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_a_consent_without_the_sessions_csrf_token_is_refused_and_makes_no_code(
    guarded: Realm, people: People, browser: httpx.Client, token: str | None
) -> None:
    sign_in(browser, "leyla")
    page = browser.get("/oauth2/authorize", params=authorize_params(guarded, people.app))
    fields = _hidden(page.text) | {"decision": "approve"}
    if token is None:
        del fields["csrf_token"]
    else:
        fields["csrf_token"] = token
    refused = browser.post("/oauth2/consent", data=fields)
    assert refused.status_code == 403
    assert "location" not in refused.headers
    assert _codes(guarded) == 0


def test_a_consent_from_someone_not_signed_in_is_refused(
    guarded: Realm, people: People, browser: httpx.Client
) -> None:
    fields = authorize_params(guarded, people.app) | {"decision": "approve", "csrf_token": "x"}
    assert browser.post("/oauth2/consent", data=fields).status_code == 403
    assert _codes(guarded) == 0


def test_tampered_consent_fields_are_checked_again(
    guarded: Realm, people: People, browser: httpx.Client
) -> None:
    sign_in(browser, "leyla")
    page = browser.get("/oauth2/authorize", params=authorize_params(guarded, people.app))
    fields = _hidden(page.text) | {"decision": "approve"}
    elsewhere = browser.post(
        "/oauth2/consent", data=fields | {"redirect_uri": "https://evil.example/steal"}
    )
    assert elsewhere.status_code == 400 and "location" not in elsewhere.headers
    wider = _answer(browser.post("/oauth2/consent", data=fields | {"scope": "system/*.cruds"}))
    assert wider["error"] == "invalid_scope"
    assert _codes(guarded) == 0


# --- the sign-in page's next ----------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
        "evil.example",
        "http:/evil.example",
    ],
)
def test_sign_in_never_sends_anyone_to_another_site(
    guarded: Realm, people: People, browser: httpx.Client, target: str
) -> None:
    signed_in = sign_in(browser, "leyla", next=target)
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/home"
    again = browser.get("/login", params={"next": target})  # already signed in
    assert again.headers["location"] == "/home"


def test_sign_in_goes_on_to_a_page_of_this_site(
    guarded: Realm, people: People, browser: httpx.Client
) -> None:
    signed_in = sign_in(browser, "leyla", next="/citizens/leyla/access?x=1")
    assert signed_in.headers["location"] == "/citizens/leyla/access?x=1"


def test_discovery_names_the_authorization_endpoint_and_openid(guarded: Realm) -> None:
    config = guarded.http.get("/.well-known/smart-configuration").json()
    assert config["authorization_endpoint"] == f"{guarded.root}/oauth2/authorize"
    assert {"sso-openid-connect", "launch-standalone", "context-standalone-patient"} <= set(
        config["capabilities"]
    )
    assert {"openid", "fhirUser", "launch/patient"} <= set(config["scopes_supported"])


def test_a_native_apps_return_scheme_is_allowed_as_the_consent_forms_target(
    guarded: Realm, people: People, browser: httpx.Client
) -> None:
    sign_in(browser, "leyla")
    params = authorize_params(guarded, people.app, redirect_uri="myapp:/back")
    page = browser.get("/oauth2/authorize", params=params)
    assert page.status_code == 200
    assert page.headers["content-security-policy"].endswith("form-action 'self' myapp:")
    approved = browser.post("/oauth2/consent", data=_hidden(page.text) | {"decision": "approve"})
    assert approved.headers["location"].startswith("myapp:/back?code=")
