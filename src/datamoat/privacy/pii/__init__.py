"""PII in free text: detection, redaction operators, an encrypted vault, a pipeline step and a check.

* :class:`PiiEngine` (detect.py) finds :class:`Finding` spans of the types in
  :data:`ENTITY_TYPES` with regexes + validators (Luhn, IBAN checksum, libphonenumber,
  ``ipaddress``), a name gazetteer from Faker's locale lists and context words (mode
  ``fast``), plus in mode ``accurate`` (the default) a CRF token tagger for names and addresses
  (tagger.py; trained by train_tagger.py on tagger_synth.py's synthetic text, shipped as
  ``data/pii_tagger.crfsuite``), joined by merge.py's rule.
* operators.py rewrites a text: redact ``[EMAIL]``, mask ``**** **** **** 4242``, keyed hash,
  keyed pseudonyms ``<PERSON_3f2a9c1b07de>`` (same value -> same token), reversible
  pseudonyms backed by :class:`PiiVault` (vault.py; AES-GCM in the catalog, every reveal audited).
* step.py registers the pipeline step ``pii_redact``; check.py registers the quality check ``pii``.
"""

from datamoat.privacy.pii import check as _check  # noqa: E402,F401  (registers the "pii" check)
from datamoat.privacy.pii import step as _step  # noqa: E402,F401  (registers the "pii_redact" step)
from datamoat.privacy.pii.detect import PiiEngine, resolve_overlaps
from datamoat.privacy.pii.finding import ENTITY_TYPES, Finding
from datamoat.privacy.pii.operators import MODES, Anonymizer, anonymize

__all__ = ["ENTITY_TYPES", "MODES", "Anonymizer", "Finding", "PiiEngine", "anonymize", "resolve_overlaps"]
