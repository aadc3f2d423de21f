"""e-Prescription: prescribing by INN from the medicinal product register, with safety checks,
and dispensing at pharmacies (docs/prescriptions.md).

The pure rooms: substances (what a check matches on), interactions (the curated drug-drug
table), dosage (R4 Dosage and its instruction text), numbers (prescription numbers and the QR
payload) and rules (validity, repeats, who may prescribe, the checks at prescribing time and
the DetectedIssue resources they become). The server's: tables (the prescriptions table),
schemas (who acts, the draft, the packs, the answers), actions (prescribe, find, dispense,
cancel, one transaction each) and routes (their FHIR operations).
"""


def install() -> None:
    """Serve the e-Prescription operations at /fhir (MedicationRequest/$prescribe, $find,
    $dispense, $cancel)."""
    from shafa.fhir import operations
    from shafa.prescriptions import routes

    for operation in routes.OPERATIONS:
        operations.add_operation(operation)
