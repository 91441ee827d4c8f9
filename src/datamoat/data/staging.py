"""Spill files for multi-pass work: Arrow IPC streams in a private temp directory.

Ingest needs two passes (types and duplicate row ids are only known once every row has been
seen), and recipes with global steps need the intermediate output. Batches are spilled to
uncompressed Arrow IPC files, which write and read back at memory speed, so memory stays
bounded by one batch rather than by the dataset.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc as ipc


class SpillFiles:
    """An ordered sequence of spilled batches; each batch may have its own schema."""

    def __init__(self, directory: Path, prefix: str = "spill") -> None:
        self.directory = directory
        self.prefix = prefix
        self._paths: list[Path] = []
        self.rows = 0

    def append(self, batch: pa.RecordBatch) -> None:
        """Spill one batch to its own file."""
        path = self.directory / f"{self.prefix}-{len(self._paths):06d}.arrow"
        with pa.OSFile(str(path), "wb") as sink, ipc.new_stream(sink, batch.schema) as writer:
            writer.write_batch(batch)
        self._paths.append(path)
        self.rows += batch.num_rows

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        """Read the batches back in order (memory-mapped)."""
        for path in self._paths:
            with pa.memory_map(str(path)) as source:
                yield from ipc.open_stream(source)

    def schemas(self) -> list[pa.Schema]:
        """The schema of every spilled batch, in order."""
        out = []
        for path in self._paths:
            with pa.memory_map(str(path)) as source:
                out.append(ipc.open_stream(source).schema)
        return out

    def remove(self) -> None:
        """Delete the spill files."""
        for path in self._paths:
            path.unlink(missing_ok=True)
        self._paths.clear()
