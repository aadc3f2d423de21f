"""SMART on FHIR v2 scopes (App Launch 2.0 scopes-and-launch-context): parse, check, narrow.

Pure functions over plain data: no database, HTTP or clock.

A resource scope is `context/Type.interactions[?param=value&...]`: context is patient, user or
system; Type a FHIR R4 resource type or `*`; interactions a subset of c r u d s, in that order
(v2), or a v1 permission (`read` = rs, `write` = cud, `*` = cruds), which is read as its v2
equivalent. Granular scopes (SMART v2 §Finer-grained resource constraints) restrict a scope to
resources matching a search, e.g. `patient/Observation.rs?category=...|laboratory`; Shafa
accepts the `category` parameter, the one servers are required to support, and refuses any other
with a clear message. Every other scope (openid, fhirUser, launch, launch/patient,
offline_access, online_access) is kept as its plain text.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qsl

from shafa.fhir.resource_types import RESOURCE_TYPES

Context = Literal["patient", "user", "system"]
Interaction = Literal["c", "r", "u", "d", "s"]

CONTEXTS: tuple[Context, ...] = ("patient", "user", "system")
INTERACTIONS = "cruds"
# SMART v1 permissions and the v2 interactions each stands for (App Launch 2.0 §Scopes for
# requesting clinical data: "patient/Observation.read" = "patient/Observation.rs").
V1_PERMISSIONS = {"read": "rs", "write": "cud", "*": "cruds"}
# Granular scope parameters Shafa enforces; SMART v2 requires servers to support category.
GRANULAR_PARAMETERS = frozenset({"category"})
# Scopes that are not about resources (App Launch 2.0 §Scopes for requesting context data and
# identity data).
OTHER_SCOPES = frozenset(
    {"openid", "fhirUser", "profile", "launch", "launch/patient", "launch/encounter",
     "offline_access", "online_access"}
)  # fmt: skip
MAX_SCOPE_TEXT = 4096


class ScopeError(ValueError):
    """A scope that cannot be parsed; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class ResourceScope:
    """One SMART resource scope, in v2 form."""

    context: Context
    resource_type: str  # a resource type, or "*"
    interactions: frozenset[str]
    # Granular restrictions: (parameter, value) pairs a resource must all match.
    restrictions: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        letters = "".join(i for i in INTERACTIONS if i in self.interactions)
        text = f"{self.context}/{self.resource_type}.{letters}"
        if self.restrictions:
            text += "?" + "&".join(f"{name}={value}" for name, value in self.restrictions)
        return text


@dataclass(frozen=True, slots=True)
class Scopes:
    """A parsed scope string: the resource scopes and the other scopes."""

    resources: tuple[ResourceScope, ...] = ()
    other: frozenset[str] = frozenset()

    def __str__(self) -> str:
        """The canonical space-separated text (v2 forms, other scopes sorted last)."""
        return " ".join([*(str(s) for s in self.resources), *sorted(self.other)])


@dataclass(frozen=True, slots=True)
class Access:
    """What a set of scopes allows for one interaction on one type in one context.

    full: allowed on every resource of the type. filters: otherwise, the granular restrictions
    under which it is allowed (a resource must match all pairs of at least one of them).
    """

    full: bool
    filters: tuple[tuple[tuple[str, str], ...], ...] = ()

    @property
    def allowed(self) -> bool:
        """True when the interaction is allowed at least on some resources."""
        return self.full or bool(self.filters)


def parse_scope(text: str) -> ResourceScope | str:
    """One scope: a ResourceScope, or the text itself when it is one of OTHER_SCOPES."""
    if text in OTHER_SCOPES:
        return text
    head, sep, query = text.partition("?")
    context, slash, rest = head.partition("/")
    if not slash or context not in CONTEXTS:
        raise ScopeError(f"Unknown scope {text!r}")
    resource_type, dot, permission = rest.rpartition(".")
    if not dot or not resource_type:
        raise ScopeError(f"Scope {text!r} has no resource type and interactions (Type.cruds)")
    if resource_type != "*" and resource_type not in RESOURCE_TYPES:
        raise ScopeError(f"Scope {text!r} names {resource_type!r}, not an R4 resource type")
    letters = V1_PERMISSIONS.get(permission, permission)
    if not letters or not _in_order(letters):
        raise ScopeError(
            f"Scope {text!r}: interactions must be some of c, r, u, d, s in that order, "
            "or read, write or *"
        )
    restrictions = _restrictions(text, query) if sep else ()
    return ResourceScope(context, resource_type, frozenset(letters), restrictions)


def _in_order(letters: str) -> bool:
    positions = [INTERACTIONS.find(letter) for letter in letters]
    return -1 not in positions and positions == sorted(set(positions))


def _restrictions(text: str, query: str) -> tuple[tuple[str, str], ...]:
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise ScopeError(f"Scope {text!r} has a malformed granular restriction") from None
    for name, value in pairs:
        if name not in GRANULAR_PARAMETERS:
            raise ScopeError(
                f"Scope {text!r}: granular restriction by {name!r} is not supported "
                f"(supported: {', '.join(sorted(GRANULAR_PARAMETERS))})"
            )
        if not value:
            raise ScopeError(f"Scope {text!r}: {name} needs a value")
    return tuple(sorted(set(pairs)))


def parse_scopes(text: str) -> Scopes:
    """A space-separated scope string (RFC 6749 §3.3), every scope parsed; ScopeError if not."""
    if len(text) > MAX_SCOPE_TEXT:
        raise ScopeError(f"The scope is longer than {MAX_SCOPE_TEXT} characters")
    resources: list[ResourceScope] = []
    other: set[str] = set()
    for word in text.split():
        scope = parse_scope(word)
        if isinstance(scope, str):
            other.add(scope)
        elif scope not in resources:
            resources.append(scope)
    return Scopes(tuple(resources), frozenset(other))


def access(
    scopes: Iterable[ResourceScope], interaction: Interaction, resource_type: str, context: Context
) -> Access:
    """Whether the scopes allow the interaction (c, r, u, d or s) on the type in the context."""
    filters: list[tuple[tuple[str, str], ...]] = []
    for scope in scopes:
        if (
            scope.context == context
            and scope.resource_type in ("*", resource_type)
            and interaction in scope.interactions
        ):
            if not scope.restrictions:
                return Access(full=True)
            if scope.restrictions not in filters:
                filters.append(scope.restrictions)
    return Access(full=False, filters=tuple(filters))


def covers(allowed: Scopes, wanted: ResourceScope) -> bool:
    """True when the allowed scopes together grant everything the wanted scope asks for.

    An allowed scope helps when it has the same context, its type is the wanted one or `*`, and
    its restrictions are among the wanted ones (the wanted scope is at least as narrow).
    """
    granted: set[str] = set()
    for scope in allowed.resources:
        if (
            scope.context == wanted.context
            and scope.resource_type in ("*", wanted.resource_type)
            and set(scope.restrictions) <= set(wanted.restrictions)
        ):
            granted |= scope.interactions
    return wanted.interactions <= granted


def narrow(allowed: Scopes, requested: Scopes | None) -> Scopes:
    """The scopes to grant: the requested ones (all allowed when None), never more.

    Raises ScopeError naming the first requested scope the allowed ones do not cover: asking
    for more than a client may have is refused, not quietly cut down (RFC 6749 §5.2
    invalid_scope).
    """
    if requested is None:
        return allowed
    for wanted in requested.resources:
        if not covers(allowed, wanted):
            raise ScopeError(f"The scope {wanted} is more than this client may have")
    extra = sorted(requested.other - allowed.other)
    if extra:
        raise ScopeError(f"The scope {extra[0]} is more than this client may have")
    return requested


def within(ceiling: Scopes, wanted: ResourceScope) -> tuple[ResourceScope, ...]:
    """The part of a wanted scope that a ceiling allows, as scopes; () when it allows none.

    Unlike narrow, which refuses a request beyond what a client may have, this cuts a scope down
    to a user's ceiling, as SMART lets a server grant fewer scopes than asked (App Launch 2.0
    §Scopes and launch context): a nurse asking `user/*.cruds` under `user/*.crus` gets
    `user/*.crus`. Each ceiling scope of the same context contributes the common interactions
    on the narrower of the two types; restrictions of both apply.
    """
    merged: dict[tuple[str, tuple[tuple[str, str], ...]], set[str]] = {}
    for cap in ceiling.resources:
        if cap.context != wanted.context:
            continue
        if "*" not in (cap.resource_type, wanted.resource_type) and (
            cap.resource_type != wanted.resource_type
        ):
            continue
        letters = cap.interactions & wanted.interactions
        if not letters:
            continue
        resource_type = wanted.resource_type if cap.resource_type == "*" else cap.resource_type
        restrictions = tuple(sorted(set(cap.restrictions) | set(wanted.restrictions)))
        merged.setdefault((resource_type, restrictions), set()).update(letters)
    return tuple(
        ResourceScope(wanted.context, resource_type, frozenset(letters), restrictions)
        for (resource_type, restrictions), letters in merged.items()
    )
