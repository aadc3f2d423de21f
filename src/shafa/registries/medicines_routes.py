"""HTTP of the medicinal product register: the whole register as CSV, in and out.

    POST /registries/medicines   Content-Type: text/csv   import (all or nothing)
    GET  /registries/medicines                             export (text/csv)

Thin: the access token is checked here as the FHIR API checks it (a bearer token whose SMART
scopes allow the writes an import makes; a person's token only if they are a registry
administrator), the work is medicines.import_csv and export_csv. Where the FHIR API runs without
tokens (SHAFA_FHIR_AUTH_REQUIRED=false, the local demo), so does this.
"""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from shafa.config import Settings
from shafa.fhir.errors import FhirError, Issue, operation_outcome
from shafa.fhir.routes import fhir_response, render_error
from shafa.fhir.store import now
from shafa.registries import medicines
from shafa.security import oauth
from shafa.security.access import (
    AccessContext,
    authenticate,
    forbidden,
    require,
    unauthenticated,
)
from shafa.security.keys import KeyRing
from shafa.security.rules import Role
from shafa.security.scopes import Interaction
from shafa.security.tokens import TokenRefused

router = APIRouter()

PATH = "/registries/medicines"
CSV = "text/csv"
# What an import writes: the products' two resources, and the holders' Organizations it adds.
IMPORT_NEEDS: tuple[tuple[Interaction, str], ...] = (
    ("c", "Medication"),
    ("u", "Medication"),
    ("c", "MedicationKnowledge"),
    ("u", "MedicationKnowledge"),
    ("c", "Organization"),
)
EXPORT_NEEDS: tuple[tuple[Interaction, str], ...] = (
    ("s", "Medication"),
    ("s", "MedicationKnowledge"),
)


def _keys(request: Request) -> KeyRing:
    """The verification keys, one ring for the application's lifetime."""
    ring: KeyRing | None = getattr(request.app.state, "registry_keys", None)
    if ring is None:
        ring = request.app.state.registry_keys = KeyRing(request.app.state.engine)
    return ring


async def _authorize(request: Request, needs: tuple[tuple[Interaction, str], ...]) -> None:
    """401 without a usable token, 403 unless its scopes allow every need (and, for a
    person's token, unless they are a registry administrator)."""
    settings: Settings = request.app.state.settings
    if not settings.fhir_auth_required:
        return
    audience = oauth.policy(settings, str(request.base_url).rstrip("/")).audience
    try:
        access: AccessContext = await authenticate(
            request.headers.get("authorization"),
            _keys(request),
            audience,
            request.app.state.engine,
            now(),
        )
    except TokenRefused as refused:
        raise unauthenticated(str(refused)) from None
    writes = any(interaction in "cud" for interaction, _type in needs)
    if writes and access.user is not None and access.user.role is not Role.REGISTRY_ADMIN:
        raise forbidden("Only registry administrators change the medicinal product register")
    for interaction, res_type in needs:
        require(access, interaction, res_type)


@router.post(PATH)
async def import_register(request: Request) -> Response:
    """Import a register CSV (docs/registries.md): all of it, or nothing and a 4xx
    OperationOutcome naming the line and column refused."""
    try:
        await _authorize(request, IMPORT_NEEDS)
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != CSV:
            raise FhirError.of(415, "not-supported", f"Send the register as {CSV} (UTF-8)")
        try:
            text = (await request.body()).decode("utf-8")
        except UnicodeDecodeError:
            raise FhirError.of(400, "invalid", "The CSV is not UTF-8 text") from None
        result = await medicines.import_csv(request.app.state.engine, text, now())
    except FhirError as error:
        return render_error(error)
    outcome = operation_outcome([Issue("informational", str(result), "information")])
    outcome["issue"][0]["details"] = {
        "text": f"created={result.created} updated={result.updated} unchanged={result.unchanged}"
    }
    return fhir_response(outcome)


@router.get(PATH)
async def export_register(request: Request) -> Response:
    """The whole register as CSV, as the import reads it."""
    try:
        await _authorize(request, EXPORT_NEEDS)
    except FhirError as error:
        return render_error(error)
    text = await medicines.export_csv(request.app.state.engine)
    return Response(
        text,
        media_type=f"{CSV}; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="medicines.csv"'},
    )
