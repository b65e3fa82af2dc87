"""The journal: write-ahead log, transactional outbox and snapshots.

Everything the OMS decides is committed here before it acts on it. The store is a protocol
(:mod:`mmoms.journal.store`) with in-memory, SQLite (embedded default) and PostgreSQL backends,
all held to one contract test suite.

Modules: ``store`` (the protocol, its errors and the journal's identity) and ``records`` (what
is recorded); the backends ``memory``, ``sqlite`` and ``postgres`` (imported on demand, so
asyncpg loads only when asked for), with their plumbing in ``sqlite_support`` and
``postgres_support``; ``ownership`` (who holds a journal: the lock and the holder's description);
``outbox`` (the relay), ``recovery`` (snapshot + replay), ``projection`` (the ``orders`` rows),
``replay_cli`` (``mmoms replay``) and ``synthetic`` (a generated session for benchmarks and
tests).
"""
