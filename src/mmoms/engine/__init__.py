"""The OrderManager: the single-writer engine and its pure parts (diff, risk, batching)."""
