"""AuditEvent at the FHIR API: the audit log, read-only, as FHIR R4 AuditEvents.

The log lives in its own tables (audit_log, audit_patients), not in the resource store, so the
FHIR router hands reads and searches of AuditEvent to this module, and refuses writes with 405:
the log is append-only. Records are rendered by audit.audit_event.

Search parameters (R4 auditevent.html#search): patient, agent, date, action, subtype and
outcome, ANDed; _count (at most the server's max page size) and _cursor, an opaque key of
(recorded, id) that the next link carries. Newest first. Unknown parameters are a 400 under
Prefer: handling=strict and ignored with a warning otherwise (R4 search.html#errors, as
fhir.search does); a malformed value is a 400 either way.

A patient-context token sees only the records concerning its patient (who accessed my record);
a record of another patient is 403, the same answer as for an id never recorded. Reading the
log is itself access to personal data: every search and read leaves an audit record.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from starlette.responses import Response

from shafa.db.engine import single_statement
from shafa.fhir.errors import FhirError, Issue, invalid, not_found, operation_outcome
from shafa.fhir.indexing import DATE_MAX, date_range
from shafa.fhir.search import split_prefix
from shafa.security import audit
from shafa.security.access import compartment, forbidden
from shafa.security.rules import Role

if TYPE_CHECKING:
    from shafa.fhir.routes import Call

RESOURCE_TYPE = "AuditEvent"
SEARCH_PARAMETERS = frozenset({"patient", "agent", "date", "action", "subtype", "outcome"})
# General parameters that change nothing in the answer (R4 http.html#parameters).
HARMLESS = frozenset({"_format", "_pretty"})
ACTION_CODES = frozenset({"C", "R", "U", "D", "E"})
OUTCOME_CODES = frozenset({"0", "4", "8", "12"})
DATE_PREFIXES = frozenset({"eq", "ge", "gt", "le", "lt"})
_MICROSECOND = timedelta(microseconds=1)


@dataclass
class LogQuery:
    """A search of the log: audit.search_log's filters, the parameters used, the warnings."""

    filters: dict[str, Any] = field(default_factory=dict)
    used: list[tuple[str, str]] = field(default_factory=list)
    ignored: list[Issue] = field(default_factory=list)
    nothing: bool = False  # a filter no record can meet (another patient than the token's)
    count: int = 50
    cursor: str | None = None


def _single(name: str, value: str) -> str:
    if "," in value:
        raise invalid(f"{name}: give one value (records of several at once are not supported)")
    return value


def _patient(value: str) -> str:
    """Patient/x, a URL ending in Patient/x, or x."""
    head, _, last = _single("patient", value).rstrip("/").rpartition("/")
    if head and not head.endswith("Patient"):
        raise invalid(f"patient={value!r} is not a reference to a Patient", "patient")
    return last


def _agent(value: str, query: LogQuery) -> None:
    """[system|]value: urn:shafa:user, urn:shafa:client, or either (how audit_event writes who)."""
    system, bar, who = _single("agent", value).rpartition("|")
    if not bar:
        query.filters["agent"] = who
    elif system == audit.USER_SYSTEM:
        query.filters["user_id"] = who
    elif system == audit.CLIENT_SYSTEM:
        query.filters["client_id"] = who
    else:
        raise invalid(
            f"agent={value!r}: the system is {audit.USER_SYSTEM} or {audit.CLIENT_SYSTEM}", "agent"
        )


def _date(value: str, query: LogQuery) -> None:
    """One [prefix]date bound, narrowing [since, until) (R4 search.html#date)."""
    prefix, text = split_prefix(_single("date", value))
    span = date_range(text)
    if prefix not in DATE_PREFIXES or span is None:
        raise invalid(
            f"date={value!r}: use ge, gt, le, lt or eq before a FHIR date, dateTime or instant "
            "(such as ge2026-01-01 or lt2026-05-17T10:00:00+04:00)",
            "date",
        )
    low, high = span
    after = high + _MICROSECOND if high < DATE_MAX else None  # the first instant past the value
    since = {"ge": low, "eq": low, "gt": after}.get(prefix)
    until = {"lt": low, "eq": after, "le": after}.get(prefix)
    if prefix == "gt" and after is None:
        query.nothing = True
    if since is not None:
        query.filters["since"] = max(since, query.filters.get("since", since))
    if until is not None:
        query.filters["until"] = min(until, query.filters.get("until", until))


def _codes(name: str, value: str, known: frozenset[str] | None = None) -> list[tuple[str, str]]:
    """(system, code) of each comma-separated token; system "" when not given."""
    pairs = []
    for one in value.split(","):
        system, bar, code = one.rpartition("|")
        if not code or (known is not None and code not in known):
            raise invalid(f"{name}={value!r}: not a code of {name}", name)
        pairs.append((system if bar else "", code))
    return pairs


def _narrow(query: LogQuery, key: str, found: set[Any]) -> None:
    """AND across repetitions of a parameter: what each allowed."""
    previous = query.filters.get(key)
    query.filters[key] = found if previous is None else previous & found


def parse(
    pairs: list[tuple[str, str]],
    *,
    strict: bool,
    max_count: int,
    default_count: int,
    patient_bound: str | None = None,
) -> LogQuery:
    """The search of the log the parameters ask for; see the module's docstring."""
    query = LogQuery(count=default_count)
    patients: set[str] = set()
    for raw_name, value in pairs:
        name, colon, modifier = raw_name.partition(":")
        if name in HARMLESS:
            continue
        known = name in SEARCH_PARAMETERS | {"_count", "_cursor"}
        if not known or (colon and not (name == "agent" and modifier == "identifier")):
            problem = (
                f"Unknown search parameter {raw_name!r} for AuditEvent"
                if not known
                else f"Modifier :{modifier} is not supported on {name}"
            )
            if strict:
                raise invalid(problem, raw_name)
            issue = Issue("not-supported", f"{problem}; ignored", "warning", (raw_name,))
            query.ignored.append(issue)
            continue
        if value == "" or not value.isprintable():
            raise invalid(
                f"Search parameter {raw_name!r} has no value, or a control character", raw_name
            )
        match name:
            case "_count":
                if not value.isdigit():
                    raise invalid("_count must be a whole number", "_count")
                query.count = min(int(value), max_count)
                continue  # the links carry their own
            case "_cursor":
                query.cursor = value
                continue
            case "patient":
                patients.add(_patient(value))
            case "agent":
                _agent(value, query)
            case "date":
                _date(value, query)
            case "action":
                codes = _codes(name, value, ACTION_CODES)
                found = set().union(*(audit.actions_coded(action=code) for _, code in codes))
                _narrow(query, "actions", found)
            case "subtype":
                found = set().union(
                    *(
                        audit.actions_coded(subtype=code, system=system or None)
                        for system, code in _codes(name, value)
                    )
                )
                _narrow(query, "actions", found)
            case "outcome":
                outcomes = {code for _, code in _codes(name, value, OUTCOME_CODES)}
                _narrow(query, "event_outcomes", outcomes)
        query.used.append((raw_name, value))
    if len(patients) > 1:
        raise invalid("patient: records of one patient at a time", "patient")
    if patient_bound is not None:
        # A patient-context token's compartment: its patient's records, and no one else's.
        if patients - {patient_bound}:
            query.nothing = True
        patients = {patient_bound}
    if patients:
        query.filters["patient_id"] = patients.pop()
    return query


def _entry(base: str, record: audit.StoredRecord) -> dict[str, Any]:
    return {
        "fullUrl": f"{base}/{RESOURCE_TYPE}/{record.id}",
        "resource": audit.audit_event(record),
        "search": {"mode": "match"},
    }


def _link(base: str, used: list[tuple[str, str]], count: int, cursor: str | None) -> str:
    query = [*used, ("_count", str(count))] + ([("_cursor", cursor)] if cursor else [])
    return f"{base}/{RESOURCE_TYPE}?{urlencode(query)}"


def read_only(method: str) -> FhirError:
    """405 for a write or a history: the log is append-only, only the server appends, and its
    records have no versions."""
    return FhirError(
        405,
        [
            Issue(
                "not-supported",
                f"{method} is not allowed here: AuditEvent is the audit log, read-only "
                "(read and search only)",
            )
        ],
        headers={"Allow": "GET, POST"},
    )


def _reading(call: "Call", action: audit.Action, records: list[audit.StoredRecord]) -> None:
    """Note the records read for the request's own audit record (FhirApi._audit): reading the
    log discloses who was looked at."""
    for record in records:
        for patient in record.entry.patients or (None,):
            call.seen.append((action, RESOURCE_TYPE, record.id, patient))


def _check_reader(call: "Call") -> None:
    """Of the staff, only system administrators read the log; a citizen reads their own
    records through a patient-context token, bounded above."""
    user = call.access.user if call.access is not None else None
    if user is not None and user.patient_id is None and user.role is not Role.SYSTEM_ADMIN:
        raise forbidden("Only system administrators search the audit log")


async def search(call: "Call") -> Response:
    """GET AuditEvent?..., or POST AuditEvent/_search: a searchset Bundle, newest first."""
    from shafa.fhir.routes import fhir_response, strict_handling

    _check_reader(call)
    pairs = list(call.request.query_params.multi_items())
    if call.request.method == "POST":
        pairs += parse_qsl((await call.request.body()).decode(), keep_blank_values=True)
    settings = call.settings
    query = parse(
        pairs,
        strict=strict_handling(call.request),
        max_count=settings.max_page_size,
        default_count=min(settings.default_page_size, settings.max_page_size),
        patient_bound=compartment(call.access),
    )
    page = audit.Page([], None)
    if query.count and not query.nothing:
        async with single_statement(call.engine) as conn:
            try:
                page = await audit.search_log(
                    conn, limit=query.count, cursor=query.cursor, **query.filters
                )
            except ValueError:
                raise invalid(
                    f"_cursor={query.cursor!r} is not a paging cursor of this server", "_cursor"
                ) from None
    base = call.base
    links = [{"relation": "self", "url": _link(base, query.used, query.count, query.cursor)}]
    if page.next_cursor is not None:
        url = _link(base, query.used, query.count, page.next_cursor)
        links.append({"relation": "next", "url": url})
    entries = [_entry(base, record) for record in page.records]
    if query.ignored:
        entries.append(
            {"resource": operation_outcome(query.ignored), "search": {"mode": "outcome"}}
        )
    _reading(call, audit.Action.SEARCH, page.records)
    bundle = {"resourceType": "Bundle", "type": "searchset", "link": links, "entry": entries}
    return fhir_response(bundle)


async def read(call: "Call") -> Response:
    """GET AuditEvent/id: one record; 403 for a patient-context token if it is not of its
    patient, whether or not it exists."""
    from shafa.fhir.routes import fhir_response

    _check_reader(call)
    async with single_statement(call.engine) as conn:
        record = await audit.read_record(conn, call.fhir_id)
    patient = compartment(call.access)
    if patient is not None and (record is None or patient not in record.entry.patients):
        raise forbidden(f"{RESOURCE_TYPE}/{call.fhir_id} is not in your patient's compartment")
    if record is None:
        raise not_found(f"{RESOURCE_TYPE}/{call.fhir_id} is not known")
    _reading(call, audit.Action.READ, [record])
    return fhir_response(audit.audit_event(record))


def capability() -> dict[str, Any]:
    """AuditEvent's CapabilityStatement.rest.resource: read and search, the parameters above."""
    url = "http://hl7.org/fhir/SearchParameter/AuditEvent-"
    params = [
        ("patient", "reference", "Patient/x or x: the records concerning the patient."),
        ("agent", "reference", "The requestor: urn:shafa:user|id, urn:shafa:client|id or id."),
        ("date", "date", "When recorded; prefixes ge gt le lt eq, several ANDed."),
        ("action", "token", "C R U D E."),
        ("subtype", "token", "restful-interaction codes, or DICOM 110122 110123 110132 110127."),
        ("outcome", "token", "0, 4 or 8."),
    ]
    return {
        "type": RESOURCE_TYPE,
        "profile": "http://hl7.org/fhir/StructureDefinition/AuditEvent",
        "documentation": "The audit log, read-only: newest first, key-paged with _cursor.",
        "interaction": [{"code": "read"}, {"code": "search-type"}],
        "searchParam": [
            {"name": name, "type": kind, "definition": url + name, "documentation": text}
            for name, kind, text in params
        ],
    }
