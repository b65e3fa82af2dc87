"""``mmoms sim --log-level debug`` tells what each client did — every request line, every stream
connection's path, every subscription, every refusal — and never a credential: not the API key,
the secret, a signature, nor a listenKey in full (whoever holds one reads the account)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import signal
import subprocess
import sys
import time
from urllib.parse import urlencode

import aiohttp

from mmoms.sim.stream_conn import redact_target, short_key

API_KEY = "dbgkey" + "7" * 58
API_SECRET = "dbgsecret" + "3" * 55


async def _client_session(rest: str, ws: str) -> tuple[str, str]:
    """A client's usual start: listenKey, a signed call, a user stream, market streams."""
    headers = {"X-MBX-APIKEY": API_KEY}
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{rest}/fapi/v1/listenKey", headers=headers) as reply:
            key = (await reply.json())["listenKey"]
        query = urlencode({"timestamp": int(time.time() * 1000)})
        signature = hmac.new(API_SECRET.encode(), query.encode(), hashlib.sha256).hexdigest()
        url = f"{rest}/fapi/v2/balance?{query}&signature={signature}"
        async with http.get(url, headers=headers) as reply:
            assert reply.status == 200
        async with http.put(f"{rest}/fapi/v1/listenKey?listenKey={key}", headers=headers):
            pass
        async with http.ws_connect(f"{ws}/private/ws/{key}"):
            pass
        async with http.ws_connect(f"{ws}/private/stream") as stream:
            await stream.send_json({"method": "SUBSCRIBE", "params": [key], "id": 1})
            await stream.receive_json(timeout=10)
            await stream.send_json({"method": "SUBSCRIBE", "params": ["btcusdc@ticker"], "id": 2})
            await stream.receive_json(timeout=10)
        async with http.ws_connect(f"{ws}/market/stream?streams=btcusdc@depth@100ms/{key}"):
            pass
    return key, signature


def test_debug_log_shows_requests_paths_and_subscriptions_without_secrets() -> None:
    env = {**os.environ, "MMOMS_SIM_API_KEY": "", "MMOMS_SIM_API_SECRET": ""}
    args = ["--port", "0", "--log-level", "debug", "--api-key", API_KEY, "--api-secret", API_SECRET]
    with subprocess.Popen(
        [sys.executable, "-m", "mmoms.sim.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            rest, ws = (part.split("=", 1)[1] for part in line.split()[2:4])
            key, signature = asyncio.run(_client_session(rest, ws))
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        assert process.stderr is not None
        log = process.stderr.read()
    shown = short_key(key)
    assert "POST /fapi/v1/listenKey -> 200" in log
    assert "GET /fapi/v2/balance?timestamp=" in log
    assert "&signature=… -> 200" in log
    assert f"PUT /fapi/v1/listenKey?listenKey={shown} -> 200" in log
    assert f"/private/ws/{shown} from" in log  # the connection's path
    assert f"SUBSCRIBE {shown}" in log  # a subscription
    assert "'btcusdc@ticker' is no stream served here" in log  # a refusal, with its reason
    assert f"/market/stream?streams=btcusdc@depth@100ms/{shown}" in log
    assert f"subscribes {shown} btcusdc@depth@100ms" in log
    for secret in (key, signature, API_SECRET, API_KEY):
        assert secret not in log


def test_redaction_of_targets() -> None:
    key = "Ab12" + "x" * 60
    assert redact_target(f"/ws/{key}") == f"/ws/{short_key(key)}"
    assert redact_target(f"/stream?streams=btcusdt@aggTrade/{key}&x=1") == (
        f"/stream?streams=btcusdt@aggTrade/{short_key(key)}&x=1"
    )
    assert (
        redact_target(f"/ws?listenKey={key}&events=A") == f"/ws?listenKey={short_key(key)}&events=A"
    )
    assert redact_target("/fapi/v1/order?symbol=BTCUSDT&signature=abcdef") == (
        "/fapi/v1/order?symbol=BTCUSDT&signature=…"
    )
    assert key not in short_key(key)
