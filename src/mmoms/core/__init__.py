"""The sans-I/O core: model, order state machine, local order book, instruments.

Nothing in this package opens a socket, awaits, or reads the wall clock: time comes from an
injected :class:`~mmoms.core.clock.Clock`, so every component is deterministic under test.
"""
