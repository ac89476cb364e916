"""Writing export rows as JSON lines, CSV or Parquet, batch by batch, into a stream.

Every format has the same typed columns (storage of the rows: projections/history/export_rows.py):
position and version int64, occurred_at a UTC timestamp, the ids and the type strings, and the
event's other fields as one JSON string. Every format is written front to back, so the stream may
be a pipe; where it goes (a file that appears whole, a FIFO, standard output) is
runtime/export_target.py's choice.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
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
