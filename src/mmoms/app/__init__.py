"""Application layer: wiring, the demo strategy, the live view, metrics. May import everything."""
