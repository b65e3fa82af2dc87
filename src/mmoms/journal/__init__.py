"""The journal: write-ahead log, transactional outbox and snapshots.

Everything the OMS decides is committed here before it acts on it. The store is a protocol
(:mod:`mmoms.journal.store`) with in-memory, SQLite (embedded default) and PostgreSQL backends,
all held to one contract test suite.
"""
