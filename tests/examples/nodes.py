"""Running a node in-process on the embedded simulator, as ``mmoms run`` does, for a few seconds:
the example strategies are loaded from their files exactly as a config names them."""

from __future__ import annotations

import asyncio
import tomllib
from pathlib import Path
from typing import Any

from mmoms.app.config import RunConfig, StrategySpec, parse_config
from mmoms.app.node import Node, NodeOptions
from mmoms.strategy.base import Strategy

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def config(name: str = "sim.toml", **sections: Any) -> RunConfig:
    """An example config without its metrics server; ``sections`` replace top-level tables."""
    doc = tomllib.loads((EXAMPLES / name).read_text())
    doc.pop("metrics", None)
    doc.update(sections)
    return parse_config(doc, base_dir=EXAMPLES)


def run(
    cfg: RunConfig,
    tmp_path: Path,
    duration_s: float,
    strategies: list[tuple[StrategySpec, Strategy]] | None = None,
) -> tuple[int, Node]:
    """Run a node for ``duration_s`` seconds; its exit status and the node (inspect after)."""
    options = NodeOptions(
        duration_s=duration_s, journal_path=str(tmp_path / "journal.sqlite"), ready_line=False
    )
    node = Node(cfg, strategies, options)
    return asyncio.run(node.run()), node
