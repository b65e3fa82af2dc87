"""No key material committed: a scan of every tracked file.

Looked for:

* a PEM private key block (``-----BEGIN ... PRIVATE KEY-----`` … ``-----END ...``);
* strings shaped like a Binance API key or secret (64 letters and digits, mixing upper case,
  lower case and digits), unless listed in :data:`DOCUMENTED_FAKES` with the reason they are
  not credentials;
* a key environment variable (``MMOMS_BINANCE_API_SECRET`` and the like) assigned a literal
  value;
* files that hold keys by their name (``*.pem``, ``*.key``, ``.env``, ``id_rsa``…).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PEM_PRIVATE = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----\s+[A-Za-z0-9+/=\s]{40,}?-----END (?:[A-Z0-9]+ )*"
    r"PRIVATE KEY-----"
)
KEY_SHAPED = re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9]{64}(?![A-Za-z0-9])")
ENV_ASSIGNED = re.compile(
    r"MMOMS_(?:BINANCE|SIM)_(?:API_KEY|API_SECRET|PRIVATE_KEY)\s*=\s*[\"']?(?![.$\"'\s])"
    r"[^\s\"']{8,}"
)
KEY_FILES = re.compile(r"(?:^|/)(?:[^/]*\.(?:pem|key|p12|pfx)|\.env(?:\..*)?|id_(?:rsa|ed25519))$")

# Public example values from Binance's API documentation, used verbatim by the wire tests.
# None is a credential: Binance publishes them in its examples, and listenKeys expire anyway.
DOCUMENTED_FAKES = {
    "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A": "docs example API key",
    "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j": "docs example secret",
    "yeqKcXjtA9Eu4Tr3nJk61UJAGzXsEmFqqfVterxpMpR4peNfqE7Zl7oans8Qj089": "docs WS API example key",
    "WsCMN0a4KHUPTQuX6IUnqEZfB1inxmv1qR4kbf1LuEjur5VdbzqvyxqG9TSjVVxv": "docs listenKey example",
    "3HBntNTepshgEdjIwSUIBgB9keLyOCg5qv3n6bYAtktG8ejcaW5HXz9Vx1JgIieg": "docs listenKey example",
}


def tracked_files() -> list[Path]:
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    return [ROOT / name for name in out.split("\0") if name]


def key_shaped(text: str) -> list[str]:
    """64-character runs of letters and digits with upper case, lower case and digits in them
    (hex digests are one case: not matched)."""
    return [
        m
        for m in KEY_SHAPED.findall(text)
        if re.search(r"[A-Z]", m) and re.search(r"[a-z]", m) and re.search(r"[0-9]", m)
    ]


def findings(path: str, text: str) -> list[str]:
    out = []
    if KEY_FILES.search(path):
        out.append(f"{path}: a key file by its name")
    if PEM_PRIVATE.search(text):
        out.append(f"{path}: a PEM private key block")
    out += [
        f"{path}: key-shaped string {m[:8]}…" for m in key_shaped(text) if m not in DOCUMENTED_FAKES
    ]
    out += [f"{path}: {m.group(0)[:40]}…" for m in ENV_ASSIGNED.finditer(text)]
    return out


def test_no_key_material_in_tracked_files() -> None:
    files = tracked_files()
    assert len(files) > 100
    problems = []
    for path in files:
        if not path.is_file():
            continue  # deleted in the work tree, not yet committed
        text = path.read_bytes().decode("utf-8", "replace")
        problems += findings(str(path.relative_to(ROOT)), text)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("path", "text"),
    [
        (
            "a.py",
            "-----BEGIN PRIVATE KEY-----\n"
            + "MC4CAQAwBQYDK2VwBCIEI" * 3
            + "\n-----END PRIVATE KEY-----",
        ),
        (
            "a.py",
            "-----BEGIN OPENSSH PRIVATE KEY-----\n"
            + "b3BlbnNzaC1rZXk" * 4
            + "\n-----END OPENSSH PRIVATE KEY-----",
        ),
        ("a.py", 'KEY = "' + "Ab3" * 21 + 'x"'),
        ("run.sh", "export MMOMS_BINANCE_API_" + "SECRET=s3cr3tValue123"),  # split: not here
        ("deploy/prod.pem", "anything"),
        ("config/.env", "X=1"),
    ],
)
def test_the_scan_finds_planted_key_material(path: str, text: str) -> None:
    assert findings(path, text)


@pytest.mark.parametrize(
    "text",
    [
        "export MMOMS_BINANCE_API_KEY=...",
        'export MMOMS_BINANCE_PRIVATE_KEY="$(cat ed25519.pem)"',
        "sha256 " + "ab" * 32,  # a hex digest
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END",  # a deliberately broken test input
        '"vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"',
    ],
)
def test_the_scan_lets_placeholders_and_documented_fakes_pass(text: str) -> None:
    assert not findings("a.py", text)
