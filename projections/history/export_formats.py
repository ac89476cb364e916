"""Writing export rows as JSON lines, CSV or Parquet, batch by batch, into a file that appears whole.

Every format has the same typed columns (storage of the rows: projections/history/export_rows.py):
position and version int64, occurred_at a UTC timestamp, the ids and the type strings, and the
event's other fields as one JSON string. Rows are written to a temporary file beside the target,
renamed over it only once complete, and the temporary file is removed on any failure: a reader
never finds half an export at the path.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from projections.history.export_rows import COLUMNS

FORMATS = ("jsonl", "csv", "parquet")
SCHEMA = pa.schema(
    [
        ("position", pa.int64()),
        ("occurred_at", pa.timestamp("us", tz="UTC")),
        ("type", pa.string()),
        ("aggregate_id", pa.string()),
        ("version", pa.int64()),
        ("brand_id", pa.string()),
        ("campaign_id", pa.string()),
        ("data", pa.string()),
    ]
)


@contextlib.contextmanager
def replaced_atomically(path: Path) -> Iterator[BinaryIO]:
    """A temporary file in `path`'s folder, renamed to `path` when the block ends without error.

    ValueError, saying why, when the folder cannot take the file (missing, not writable).
    """
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise ValueError(f"cannot write the export to {path}: it is a folder")
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=folder)
    except OSError as error:
        raise ValueError(f"cannot write the export to {path}: {error.strerror or error}") from None
    try:
        with os.fdopen(handle, "wb") as out:
            yield out
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _record_batch(rows: list[tuple[Any, ...]]) -> pa.RecordBatch:
    columns = list(zip(*rows, strict=True))
    return pa.RecordBatch.from_arrays(
        [pa.array(column, type=field.type) for column, field in zip(columns, SCHEMA, strict=True)],
        schema=SCHEMA,
    )


def write_rows(batches: Iterable[list[tuple[Any, ...]]], out: BinaryIO, form: str) -> int:
    """Write every batch to `out` in `form` (one of FORMATS); return how many rows."""
    if form not in FORMATS:
        raise ValueError(f"unknown format {form!r}: use one of {', '.join(FORMATS)}")
    written = 0
    if form == "jsonl":
        dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        for rows in batches:
            lines = []
            for row in rows:
                record = dict(zip(COLUMNS, row, strict=True))
                record["occurred_at"] = row[1].isoformat().replace("+00:00", "Z")
                lines.append(dumps(record))
            out.write(("\n".join(lines) + "\n").encode())
            written += len(rows)
        return written
    writer: pq.ParquetWriter | pa_csv.CSVWriter = (
        pq.ParquetWriter(out, SCHEMA, compression="zstd")
        if form == "parquet"
        else pa_csv.CSVWriter(out, SCHEMA)
    )
    try:
        for rows in batches:
            writer.write_batch(_record_batch(rows))
            written += len(rows)
    finally:
        writer.close()
    return written
