"""What the citizens registry keeps in the database beside the FHIR store: one FIN a Patient."""

from shafa.db.tables import unique_token_index
from shafa.registries.citizens.rules import FIN_SYSTEM

# At most one live Patient holds a FIN. The store answers a write that would break it with 409
# before writing (fhir.unique); this index is what holds when two writes race.
FIN_INDEX = unique_token_index("uq_idx_token_patient_fin", "Patient", "identifier", FIN_SYSTEM)
