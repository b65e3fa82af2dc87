"""The PostgreSQL store's plumbing: its DDL and statements, and the journal's advisory lock.

The lock (see :mod:`mmoms.journal.postgres` for why it is taken on the store's own connection)
is ``pg_try_advisory_lock`` on a key derived from the schema (``ownership.advisory_key``): it
never waits. A refused newcomer finds the holder's session through
``pg_locks`` (a bigint key shows as ``classid`` = high half, ``objid`` = low half,
``objsubid`` = 1) joined to ``pg_stat_activity``, whose ``application_name`` the holder set to
its description and whose ``backend_start`` says since when.
"""

from __future__ import annotations

import asyncpg

from mmoms.journal.ownership import advisory_key, holder_from_application_name
from mmoms.journal.store import JournalLockedError

DDL = """
CREATE SCHEMA IF NOT EXISTS {s};
CREATE TABLE IF NOT EXISTS {s}.journal (
    seq     BIGINT PRIMARY KEY,
    ts_ns   BIGINT NOT NULL,
    kind    TEXT NOT NULL,
    key     TEXT NOT NULL,
    payload JSON NOT NULL
);
CREATE INDEX IF NOT EXISTS journal_key ON {s}.journal (key);
CREATE TABLE IF NOT EXISTS {s}.outbox (
    id      TEXT PRIMARY KEY,
    pos     BIGINT GENERATED ALWAYS AS IDENTITY,  -- commit order: "oldest first"
    ts_ns   BIGINT NOT NULL,
    payload JSON NOT NULL,
    done_ns BIGINT
);
CREATE INDEX IF NOT EXISTS outbox_pending ON {s}.outbox (pos) WHERE done_ns IS NULL;
CREATE TABLE IF NOT EXISTS {s}.orders (
    symbol          TEXT NOT NULL,
    client_order_id TEXT NOT NULL,
    side            TEXT NOT NULL,
    order_type      TEXT NOT NULL,
    status          TEXT NOT NULL,
    price           NUMERIC,
    quantity        NUMERIC NOT NULL,
    filled_qty      NUMERIC NOT NULL,
    venue_order_id  BIGINT,
    updated_ns      BIGINT NOT NULL,
    PRIMARY KEY (symbol, client_order_id)
);
CREATE TABLE IF NOT EXISTS {s}.snapshots (
    seq     BIGINT PRIMARY KEY,
    ts_ns   BIGINT NOT NULL,
    payload JSON NOT NULL
);
"""
# Created by every writer's open, so a journal from before identities gains it.
META_DDL = "CREATE TABLE IF NOT EXISTS {s}.journal_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"


_HOLDER = """
SELECT l.pid, a.application_name, a.backend_start
  FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
 WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND l.classid::bigint = $1 AND l.objid::bigint = $2
 LIMIT 1
"""


def statements(schema: str) -> dict[str, str]:
    """The store's statements on ``schema`` (a checked plain identifier)."""
    s = f'"{schema}"'
    return {
        # A whole batch in ONE statement (data-modifying CTEs over arrays): one round trip,
        # atomic without BEGIN/COMMIT, one WAL flush.
        "commit": f"""
            WITH j AS (
                INSERT INTO {s}.journal (seq, ts_ns, kind, key, payload)
                SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[],
                                     $5::json[])
            ), o AS (
                INSERT INTO {s}.outbox (id, ts_ns, payload, done_ns)
                SELECT * FROM unnest($6::text[], $7::bigint[], $8::json[], $9::bigint[])
            ), d AS (
                UPDATE {s}.outbox SET done_ns = $10
                 WHERE id = ANY($11::text[]) AND done_ns IS NULL
            ), r AS (
                INSERT INTO {s}.orders (symbol, client_order_id, side, order_type, status,
                                        price, quantity, filled_qty, venue_order_id,
                                        updated_ns)
                SELECT * FROM unnest($12::text[], $13::text[], $14::text[], $15::text[],
                                     $16::text[], $17::numeric[], $18::numeric[],
                                     $19::numeric[], $20::bigint[], $21::bigint[])
                ON CONFLICT (symbol, client_order_id) DO UPDATE SET
                    side = excluded.side, order_type = excluded.order_type,
                    status = excluded.status, price = excluded.price,
                    quantity = excluded.quantity, filled_qty = excluded.filled_qty,
                    venue_order_id = excluded.venue_order_id,
                    updated_ns = excluded.updated_ns
            )
            SELECT 1""",
        "page": f"SELECT seq, ts_ns, kind, key, payload FROM {s}.journal"
        " WHERE seq > $1 ORDER BY seq LIMIT $2",
        "last_seq": f"SELECT coalesce(max(seq), 0) FROM {s}.journal",
        "pending": f"SELECT id, ts_ns, payload FROM {s}.outbox WHERE done_ns IS NULL ORDER BY pos",
        "snapshot_put": f"INSERT INTO {s}.snapshots (seq, ts_ns, payload) VALUES ($1, $2, $3)"
        " ON CONFLICT (seq) DO UPDATE SET ts_ns = excluded.ts_ns, payload = excluded.payload",
        "snapshot_prune": f"DELETE FROM {s}.snapshots WHERE seq NOT IN"
        f" (SELECT seq FROM {s}.snapshots ORDER BY seq DESC LIMIT $1)",
        "snapshot_latest": f"SELECT seq, ts_ns, payload FROM {s}.snapshots"
        " ORDER BY seq DESC LIMIT 1",
        "orders": f"SELECT client_order_id, symbol, side, order_type, status, price, quantity,"
        f" filled_qty, venue_order_id, updated_ns FROM {s}.orders"
        " ORDER BY symbol, client_order_id",
        "meta": f"SELECT key, value FROM {s}.journal_meta",
        "meta_put": f"INSERT INTO {s}.journal_meta (key, value) VALUES ($1, $2)",
    }


async def take_advisory_lock(conn: asyncpg.Connection, schema: str, where: str) -> None:
    """Take the journal's session-level advisory lock on ``conn``, without waiting.

    Raises:
        JournalLockedError: another session holds it; names the holder as far as PostgreSQL
            shows it (a session of another role may hide its application_name).
        asyncpg errors: the server failed (the caller maps them).
    """
    key = advisory_key(schema)
    if await conn.fetchval("SELECT pg_try_advisory_lock($1)", key):
        return
    row = await conn.fetchrow(_HOLDER, (key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF)
    if row is None:  # it let go between our try and our look
        raise JournalLockedError(where, None, "another session (it has just let go: try again)")
    name = row["application_name"] or ""
    holder = holder_from_application_name(name, row["backend_start"])
    who = f"the session of PostgreSQL backend pid {row['pid']} (application_name {name!r})"
    raise JournalLockedError(where, holder, who)
