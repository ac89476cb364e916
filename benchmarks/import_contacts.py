"""Benchmark: a 100,000-row contacts CSV (about 1% bad rows) uploaded over HTTP, then uploaded again.

Starts an embedded PostgreSQL in a temporary folder (or uses --database-url), serves the API with
uvicorn on loopback, streams the generated file to POST /v1/lead-groups/{id}/contacts and prints
one table row per upload: rows, seconds, rows/s, the import's counts and the process's peak RSS.
The second upload is the same file, so it must add and update nothing. Two anchors measured in the
same run frame the figures: parsing and normalising every row with no database (the CPU floor of
validation), and PostgreSQL's own COPY of the raw file into a scratch table (the database floor).

    .venv/bin/python -m benchmarks.import_contacts [--rows 100000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import contextlib
import random
import resource
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from commands.audience.contact_rows import csv_rows, parse_contact
from commands.credits.brands import create_brand
from domain.credit_ledger import Plan
from runtime.embedded_postgres import EmbeddedPostgres, free_port
from runtime.service import build_service
from runtime.settings import Settings

HEADER = "email,phone,first_name,last_name,company,timezone,plan,source\n"
ZONES = ["America/New_York", "Europe/London", "Asia/Tokyo", "", "america/chicago"]
BAD_ROWS = [
    "not-an-email,,Bad,,,,,\n",
    ",12,Short,,,,,\n",
    "x@example.com,,Zone,,,Mars/Base,,\n",
    ",,None,,,,,\n",
]


def write_csv(path: Path, rows: int, seed: int = 7) -> int:
    """The benchmark file; returns how many of its rows are bad (about 1%)."""
    rng, bad = random.Random(seed), 0
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER)
        for i in range(rows):
            if rng.random() < 0.01:
                out.write(BAD_ROWS[bad % len(BAD_ROWS)].replace("x@", f"x{i}@"))
                bad += 1
                continue
            phone = f"(212) {200 + i // 10000}-{i % 10000:04d}" if i % 5 else ""  # every 5th: email only
            email = f"Lead{i}@Example.com" if i % 7 or not phone else ""  # every 7th: phone only
            zone = ZONES[i % len(ZONES)]
            out.write(f"{email},{phone},First{i},Last{i},Company {i % 97},{zone},tier{i % 3},bench\n")
    return bad


def stream(path: Path, chunk: int = 64 * 1024) -> Iterator[bytes]:
    with path.open("rb") as source:
        while data := source.read(chunk):
            yield data


def normalise_only(path: Path, _db) -> None:
    """Every row through the import's own parsing and normalisation, nothing written."""
    with path.open(encoding="utf-8") as text:
        for row in csv_rows(text):
            with contextlib.suppress(ValueError):  # bad rows cost their parse too
                parse_contact(row, "US")


def raw_copy(path: Path, db) -> None:
    """The file's bytes into an unlogged scratch table with COPY: what loading alone costs."""
    with db.transaction() as cur:
        cur.execute(
            "CREATE UNLOGGED TABLE bench_raw (email text, phone text, first_name text, last_name text,"
            " company text, timezone text, plan text, source text)"
        )
        with (
            path.open("rb") as source,
            cur.copy("COPY bench_raw FROM STDIN (FORMAT csv, HEADER true)") as copy,
        ):
            while data := source.read(1 << 20):
                copy.write(data)
        cur.execute("DROP TABLE bench_raw")


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url", help="an existing PostgreSQL; default: embedded, in a temp folder")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="import-bench-") as folder:
        server = None if args.database_url else EmbeddedPostgres(Path(folder) / "pg", durable=True)
        url = args.database_url or server.start()
        container = build_service(Settings(database_url=url))
        port = free_port()
        api = uvicorn.Server(
            uvicorn.Config(container.http_app(), host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=api.run, daemon=True)
        try:
            csv_path = Path(folder) / "contacts.csv"
            bad = write_csv(csv_path, args.rows)
            brand = create_brand(container.store, container.db, "bench", Plan.PREMIUM, container.clock.now())
            thread.start()
            while not api.started:
                time.sleep(0.05)
            http = httpx.Client(
                base_url=f"http://127.0.0.1:{port}",
                headers={"Authorization": f"Bearer {brand.api_key}"},
                timeout=600,
            )
            group = http.post("/v1/lead-groups", json={"name": "bench"}).raise_for_status().json()["id"]
            size = csv_path.stat().st_size / 2**20
            print(
                f"{args.rows:,} rows ({bad:,} bad, {size:.1f} MiB); peak RSS before: {peak_rss_mib():.0f} MiB"
            )
            print(
                f"{'run':<10}{'rows':>9}{'seconds':>9}{'rows/s':>9}{'added':>8}{'updated':>8}{'invalid':>8}{'peak RSS':>10}"
            )
            for run in ("import", "re-import"):
                started = time.perf_counter()
                response = http.post(
                    f"/v1/lead-groups/{group}/contacts",
                    content=stream(csv_path),
                    headers={"Content-Type": "text/csv"},
                )
                seconds = time.perf_counter() - started
                report = response.raise_for_status().json()
                print(
                    f"{run:<10}{args.rows:>9,}{seconds:>9.2f}{args.rows / seconds:>9,.0f}{report['added']:>8,}"
                    f"{report['updated']:>8,}{len(report['invalid']):>8,}{peak_rss_mib():>6.0f} MiB"
                )
            for name, anchor in (("anchor: normalise only", normalise_only), ("anchor: raw COPY", raw_copy)):
                started = time.perf_counter()
                anchor(csv_path, container.db)
                seconds = time.perf_counter() - started
                print(f"{name:<24}{seconds:>9.2f} s{args.rows / seconds:>10,.0f} rows/s")
            count = http.get(f"/v1/lead-groups/{group}").json()["contact_count"]
            print(f"lead group holds {count:,} contacts")
        finally:
            api.should_exit = True
            thread.join(timeout=10)
            container.close()
            if server is not None:
                server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
