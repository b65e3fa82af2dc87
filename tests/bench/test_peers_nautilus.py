"""NautilusTrader among the peers of ``bench/peers.py`` without its environment: skipped, with
the reason printed and in the figures — never silently. (The measured case is in
``test_bench_smoke.py``, on its quick report.) ``PYTHON312`` pointing nowhere makes
``scripts/nautilus_env.sh`` exit 3, as on a machine without Python 3.12.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.clients

ROOT = Path(__file__).resolve().parents[2]
PEERS = ROOT / "bench" / "peers.py"
NAUTILUS = "NautilusTrader Strategy"


@pytest.mark.timeout(320)
def test_without_its_venv_nautilus_is_skipped_and_says_why(tmp_path: Path) -> None:
    out = tmp_path / "peers.json"
    env = {**os.environ, "PYTHON312": str(tmp_path / "no-python3.12")}
    done = subprocess.run(
        [sys.executable, str(PEERS), "--quick", "--clients", f"floor: bare aiohttp REST,{NAUTILUS}",
         "--json", str(out)],
        capture_output=True, text=True, timeout=300, check=False, cwd=ROOT, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert f"{NAUTILUS}: skipped: scripts/nautilus_env.sh exit 3" in done.stdout
    entry = json.loads(out.read_text())["clients"][NAUTILUS]
    assert entry["error"].startswith("skipped: ")
    assert all(entry["ops"][op]["round_trip"]["n"] == 0 for op in ("place", "cancel"))
