"""The e-Prescription context's table, on the shared MetaData of shafa.db.tables.

The MedicationRequest in the FHIR store is the clinical record of a prescription; this row is
its fast, lockable state: what is left to dispense, and whether it may be. Dispensing changes
it with one conditional UPDATE (actions.dispense), and the CHECK constraints below hold the
rules whatever the code does: nothing is dispensed beyond the quantity prescribed, nothing of
a cancelled prescription.
"""

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Index,
    Integer,
    Numeric,
    String,
    Table,
)

from shafa.db.tables import FHIR_ID, metadata
from shafa.db.types import UtcDateTime

EQUIVALENCE_TEXT = 1000  # as medicines_tables: a few INNs or strengths, joined
NUMBER = 14  # 7KQ4-M2XD-9HTV (numbers.py)
VERIFICATION = 12  # numbers.VERIFICATION_LENGTH

# Stored statuses. "expired" is also what an active row past valid_until reads as (schemas).
STATUSES = ("active", "partially-dispensed", "completed", "cancelled", "expired")
DISPENSABLE = ("active", "partially-dispensed")
_STATUSES = ", ".join(f"'{s}'" for s in STATUSES)

prescriptions = Table(
    "prescriptions",
    metadata,
    Column("number", String(NUMBER), primary_key=True),
    Column("verification", String(VERIFICATION), nullable=False),
    Column("medication_request_id", String(FHIR_ID), nullable=False, unique=True),
    # Every patient-owned row carries its patient (DESIGN, Scale: the distribution key).
    Column("patient_id", String(FHIR_ID), nullable=False),
    Column("prescriber_id", String(FHIR_ID), nullable=False),  # Practitioner id
    Column("organization_id", String(FHIR_ID), nullable=True),  # where they prescribed
    # The prescribed substance: INNs as the register spells them ('a + b'), and the register's
    # equivalence key (medicines_rules.equivalence) a dispensed pack must share.
    Column("inn", String(EQUIVALENCE_TEXT), nullable=False),
    Column("atc", String(7), nullable=False),
    Column("substance", String(EQUIVALENCE_TEXT), nullable=False),
    Column("strength", String(EQUIVALENCE_TEXT), nullable=False),
    Column("dose_form", String(64), nullable=False),
    Column("medication_id", String(FHIR_ID), nullable=True),  # a named product, if one
    # In units of the dose form, the unit a pack's size is counted in ({tablet}, mL ...).
    Column("quantity", Numeric(12, 3), nullable=False),
    Column("dispensed", Numeric(12, 3), nullable=False),
    Column("unit", String(32), nullable=False),
    Column("status", String(24), nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_until", Date, nullable=False),  # inclusive, as the R4 Period's end date
    Column("controlled", Boolean, nullable=False),
    Column("issue", Integer, nullable=False),  # issue n of m of a repeat prescription
    Column("issues", Integer, nullable=False),
    Column("issued_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("version", Integer, nullable=False),  # optimistic concurrency, +1 on every change
    CheckConstraint(f"status IN ({_STATUSES})", name="status_known"),
    CheckConstraint("quantity > 0", name="quantity_positive"),
    CheckConstraint("dispensed >= 0 AND dispensed <= quantity", name="within_quantity"),
    CheckConstraint("status <> 'cancelled' OR dispensed = 0", name="cancelled_undispensed"),
    CheckConstraint("status <> 'completed' OR dispensed = quantity", name="completed_whole"),
    CheckConstraint("valid_until >= valid_from", name="period_ordered"),
    CheckConstraint("issue >= 1 AND issue <= issues", name="issue_within"),
    comment="One row per MedicationRequest that is a prescription: its number, substance, "
    "quantity prescribed and dispensed, status and validity; dispensing updates it atomically.",
)
# A patient's prescriptions by status: the active ones the safety checks compare against.
Index("ix_prescriptions_patient", prescriptions.c.patient_id, prescriptions.c.status)
