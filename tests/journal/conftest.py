"""Fixtures for the journal tests: the PostgreSQL server and a schema of our own per test.

The PostgreSQL tests use the real server (``MMOMS_PG_DSN``, default the local test database).
If it is down they fail under ``CI=true`` and are skipped with the reason otherwise
(``scripts/services.sh`` starts it). Every test gets a fresh random schema, dropped afterwards,
so runs never see each other's rows.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio

PG_DSN = os.environ.get("MMOMS_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


async def _probe(dsn: str) -> None:
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        await conn.fetchval("SELECT 1")
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_dsn() -> str:
    try:
        asyncio.run(_probe(PG_DSN))
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        where = re.sub(r"://([^:@/]*):[^@/]*@", r"://\1:***@", PG_DSN)  # never print a password
        reason = f"PostgreSQL is not reachable at {where} ({exc}); scripts/services.sh starts it"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return PG_DSN


@pytest_asyncio.fixture
async def pg_schema(pg_dsn: str) -> AsyncIterator[str]:
    schema = f"mmoms_test_{secrets.token_hex(6)}"
    yield schema
    conn = await asyncpg.connect(pg_dsn, timeout=5)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()
