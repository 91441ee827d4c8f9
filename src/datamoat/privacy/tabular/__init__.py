"""Tabular anonymity: measure k-anonymity, l-diversity and t-closeness, and reach them.

* :mod:`~datamoat.privacy.tabular.measure`: :func:`measure` a table's equivalence classes.
* :mod:`~datamoat.privacy.tabular.generalize`: value hierarchies (ranges, trees, masks).
* :mod:`~datamoat.privacy.tabular.search`: the generalisation search (:func:`plan_anonymization`).
* :mod:`~datamoat.privacy.tabular.anonymize`: :func:`anonymize_table` and the global pipeline
  step ``k_anonymize``.
"""

from datamoat.privacy.tabular.anonymize import AnonymizationResult, KAnonymize, anonymize_table
from datamoat.privacy.tabular.generalize import (
    Hierarchy,
    IntervalHierarchy,
    MappingHierarchy,
    build_hierarchy,
)
from datamoat.privacy.tabular.measure import AnonymityMetrics, measure

__all__ = [
    "AnonymityMetrics",
    "AnonymizationResult",
    "Hierarchy",
    "IntervalHierarchy",
    "KAnonymize",
    "MappingHierarchy",
    "anonymize_table",
    "build_hierarchy",
    "measure",
]
