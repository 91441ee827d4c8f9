"""Privacy: PII detection and redaction, tabular anonymity, differential privacy, encryption, audit."""
