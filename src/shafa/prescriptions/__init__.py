"""e-Prescription: prescribing by INN from the medicinal product register, with safety checks.

So far the pure rooms only (docs/prescriptions.md): substances (what a check matches on),
interactions (the curated drug-drug table), dosage (R4 Dosage and its instruction text),
numbers (prescription numbers and the QR payload) and rules (validity, repeats, the checks at
prescribing time and the DetectedIssue resources they become).
"""
