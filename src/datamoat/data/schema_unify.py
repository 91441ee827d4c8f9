"""Bringing batches whose schemas differ (JSON records with optional keys, a column that is
null in one batch and numeric in the next) to one schema."""

from __future__ import annotations

import pyarrow as pa


def unify(schemas: list[pa.Schema]) -> pa.Schema:
    """One schema that every input can be cast to; columns in first-seen order.

    Numeric types widen (int -> float), null columns take the other batches' type, and a
    column whose types cannot be reconciled becomes string.
    """
    if not schemas:
        return pa.schema([])
    order: list[str] = []
    types: dict[str, list[pa.DataType]] = {}
    for schema in schemas:
        for field in schema:
            if field.name not in types:
                order.append(field.name)
                types[field.name] = []
            types[field.name].append(field.type)
    fields = []
    for name in order:
        try:
            unified = pa.unify_schemas(
                [pa.schema([pa.field(name, t)]) for t in types[name]], promote_options="permissive"
            ).field(name).type
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            unified = pa.string()
        if pa.types.is_null(unified):
            unified = pa.string()
        fields.append(pa.field(name, unified))
    return pa.schema(fields)


def conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """``batch`` with exactly ``schema``'s columns: missing ones null, others cast."""
    columns = []
    for field in schema:
        idx = batch.schema.get_field_index(field.name)
        if idx < 0:
            columns.append(pa.nulls(batch.num_rows, field.type))
            continue
        col = batch.column(idx)
        if not col.type.equals(field.type):
            try:
                col = col.cast(field.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                col = col.cast(pa.string()) if field.type == pa.string() else col
        columns.append(col)
    return pa.RecordBatch.from_arrays(columns, schema=schema)
