"""The catalog: SQLAlchemy tables and queries for datasets, versions, lineage and runs."""

from datamoat.catalog.catalog import Catalog
from datamoat.catalog.records import DatasetRecord, VersionRecord

__all__ = ["Catalog", "DatasetRecord", "VersionRecord"]
