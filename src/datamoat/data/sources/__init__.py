"""Sources that are fetched rather than read from a file: HTTP JSON APIs (``http_json``).

:mod:`.http_spec` parses a source entry of datamoat.yaml (dlt's REST API vocabulary),
:mod:`.http_client` sends requests with retries, :mod:`.paginators` walk the pages,
:mod:`.http_fetch` collects the records with their provenance, :mod:`.incremental` merges a
fetch into the previous version on the primary key, and :mod:`.http_ingest` makes the version
through :func:`datamoat.data.ingest.ingest` (the one version writer) and moves the source's
cursor in the same catalog transaction.

Why not dlt itself: dlt's REST API source is a whole pipeline with its own state store (in
the destination and a local pipeline folder), its own schema evolution and load packages. Its
incremental cursor would live outside the catalog and could advance without a datamoat
version, which breaks the rule that a version and the state it implies move together. The
pieces it is made of are small and well kept on their own: httpx (requests), tenacity
(retries), jsonpath-ng (selectors); datamoat uses those directly and keeps dlt's names.
"""
