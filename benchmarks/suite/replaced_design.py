"""Anchor of the send pipeline: the design this service replaces, where a BullMQ worker did, per
send, one transaction of a conditional quota UPDATE, an execution INSERT and a metrics UPDATE on
PostgreSQL. Here from 8 connections on threads, N sends split among them; returns the seconds."""

from __future__ import annotations

import threading
import time
from uuid import uuid4

import psycopg

CONNECTIONS = 8
TABLES = (
    "CREATE TABLE bench_quota (id int PRIMARY KEY, sends_today int, daily_limit int)",
    "CREATE TABLE bench_executions (id uuid PRIMARY KEY, contact int, sent_at timestamptz)",
    "CREATE TABLE bench_metrics (id int PRIMARY KEY, sent int)",
)


def replaced_design_seconds(url: str, sends: int, connections: int = CONNECTIONS) -> float:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_quota, bench_executions, bench_metrics")
        for statement in TABLES:
            conn.execute(statement)
        conn.execute("INSERT INTO bench_quota VALUES (1, 0, %s)", (sends + 1,))
        conn.execute("INSERT INTO bench_metrics VALUES (1, 0)")
    pool = [psycopg.connect(url) for _ in range(connections)]
    errors: list[BaseException] = []

    def work(conn: psycopg.Connection[tuple[object, ...]], contacts: range) -> None:
        try:
            for contact in contacts:
                with conn.transaction():
                    conn.execute(
                        "UPDATE bench_quota SET sends_today = sends_today + 1"
                        " WHERE id = 1 AND sends_today < daily_limit"
                    )
                    conn.execute("INSERT INTO bench_executions VALUES (%s, %s, now())", (uuid4(), contact))
                    conn.execute("UPDATE bench_metrics SET sent = sent + 1 WHERE id = 1")
        except BaseException as error:  # reported by the caller, after every thread stopped
            errors.append(error)

    threads = [
        threading.Thread(target=work, args=(conn, range(i, sends, connections)), daemon=True)
        for i, conn in enumerate(pool)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    for conn in pool:
        conn.close()
    if errors:
        raise errors[0]
    with psycopg.connect(url) as conn:
        sent = conn.execute("SELECT sent FROM bench_metrics").fetchone()
    if sent is None or sent[0] != sends:
        raise RuntimeError(f"the replaced design counted {sent} sends, not {sends}")
    return seconds
