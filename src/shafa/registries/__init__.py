"""The national registries: citizens (MPI), workforce, facilities, medicines, disability.

They live on the FHIR store; what makes them registries is the facts they hold to, installed
here in the generic engine when the application is built: domain rules (fhir.validation), write
checks for the facts only the database can decide, such as a hierarchy without cycles
(fhir.store.add_write_check), the folding of some string parameters (fhir.indexing.Folding),
identifiers one live resource at most may hold (fhir.unique), and the master patient index's
write check and operations (registries.mpi).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shafa.fhir.indexing import Folding
    from shafa.fhir.store import WriteCheck
    from shafa.fhir.unique import UniqueIdentifier
    from shafa.fhir.validation import Rule

# The registries are imported when asked for, not with this package: security.rules needs the
# citizens registry's FIN rules, and the store (which the registries use) imports security.


def rules() -> tuple[tuple[str, Rule], ...]:
    """Each registry's rules: (resource type, rule)."""
    from shafa.registries import citizens, disability, facilities, medicines, workforce

    return (
        *citizens.RULES,
        *workforce.RULES,
        *facilities.RULES,
        *disability.RULES,
        *medicines.RULES,
    )


def write_checks() -> tuple[tuple[str, WriteCheck], ...]:
    """Each registry's checks that need the database: (resource type, check)."""
    from shafa.registries import facilities, medicines, workforce
    from shafa.registries.mpi import routes as mpi

    return (
        *workforce.WRITE_CHECKS,
        *facilities.WRITE_CHECKS,
        *medicines.WRITE_CHECKS,
        *mpi.WRITE_CHECKS,
    )


def foldings() -> tuple[tuple[str, str, Folding], ...]:
    """String parameters a registry folds: (resource type, parameter, folding)."""
    from shafa.registries import citizens

    return citizens.FOLDINGS


def unique_identifiers() -> tuple[UniqueIdentifier, ...]:
    """Identifiers one live resource at most may hold."""
    from shafa.registries import citizens

    return citizens.UNIQUE


def install() -> None:
    """Make every write and $validate keep the registries' rules, every write their write
    checks, search and the store know their foldings and unique identifiers, and the FHIR API
    their operations."""
    from shafa.fhir import indexing, operations, store, unique, validation
    from shafa.registries.mpi import model
    from shafa.registries.mpi import routes as mpi

    model()  # a bad SHAFA_MPI_MODEL_FILE stops the application here, not at its first match
    for resource_type, rule in rules():
        validation.add_rule(resource_type, rule)
    for resource_type, check in write_checks():
        store.add_write_check(resource_type, check)
    for resource_type, param, folding in foldings():
        indexing.add_folding(resource_type, param, folding)
    for identifier in unique_identifiers():
        unique.add_unique(identifier)
    for operation in mpi.OPERATIONS:
        operations.add_operation(operation)
