"""The terminology operations over HTTP: thin handlers the FHIR router calls (fhir.operations).

Each reads its inputs (GET query or POSTed Parameters, params.py), asks the operation's module,
and answers FHIR JSON. Instance-level calls (CodeSystem/icd-10/$validate-code,
ValueSet/icd-10-diagnosis/$expand) name one of the built-in resources by id; a stored
CodeSystem or ValueSet of a client's is not expanded or validated against (404).
"""

import uuid
from typing import TYPE_CHECKING

from starlette.responses import Response

from shafa.fhir import store
from shafa.fhir.errors import not_found
from shafa.terminology import catalog, expand, lookup, validate_code
from shafa.terminology.model import CodeSystem
from shafa.terminology.params import Params

if TYPE_CHECKING:
    from shafa.fhir.routes import Call


async def _params(call: "Call") -> Params:
    from shafa.fhir.routes import read_body

    if call.request.method == "POST":
        return Params.from_parameters(await read_body(call.request))
    return Params.from_query(call.request.query_params.multi_items())


def _code_system(call: "Call") -> CodeSystem | None:
    """The built-in code system an instance-level call names (None at type level); 404 else."""
    if not call.fhir_id:
        return None
    found = catalog.code_system_by_id(call.fhir_id)
    if found is None:
        raise not_found(f"CodeSystem/{call.fhir_id} is not one of the server's code systems")
    return found


def _value_set(call: "Call") -> catalog.ValueSetDef | None:
    """The built-in value set an instance-level call names (None at type level); 404 else."""
    if not call.fhir_id:
        return None
    found = catalog.value_set_by_id(call.fhir_id)
    if found is None:
        raise not_found(f"ValueSet/{call.fhir_id} is not one of the server's value sets")
    return found


async def lookup_code(call: "Call") -> Response:
    """CodeSystem/$lookup."""
    from shafa.fhir.routes import fhir_response

    return fhir_response(lookup.run(await _params(call)))


async def validate_in_code_system(call: "Call") -> Response:
    """CodeSystem/$validate-code and CodeSystem/{id}/$validate-code."""
    from shafa.fhir.routes import fhir_response

    system = _code_system(call)
    return fhir_response(validate_code.in_code_system(await _params(call), system))


async def validate_in_value_set(call: "Call") -> Response:
    """ValueSet/$validate-code and ValueSet/{id}/$validate-code."""
    from shafa.fhir.routes import fhir_response

    value_set = _value_set(call)
    return fhir_response(validate_code.in_value_set(await _params(call), value_set))


async def expand_value_set(call: "Call") -> Response:
    """ValueSet/$expand and ValueSet/{id}/$expand."""
    from shafa.fhir.routes import fhir_response

    settings = call.settings
    asked = expand.request(
        await _params(call),
        _value_set(call),
        default_count=settings.default_page_size,
        max_count=settings.max_page_size,
    )
    expanded = expand.run(asked, identifier=f"urn:uuid:{uuid.uuid4()}", timestamp=store.now())
    return fhir_response(expanded)
