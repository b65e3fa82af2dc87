"""The run configuration: the examples load, and every kind of bad input is refused with an
error that names the key."""

from __future__ import annotations

import copy
import tomllib
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from mmoms.app import run as run_cli
from mmoms.app.config import ConfigError, VenueKind, load_config, parse_config
from mmoms.app.run import credentials_for
from mmoms.core.ids import StrategyId, Symbol
from mmoms.engine.strategy_limits import StrategyLimits
from mmoms.venues.binance.config import OrderTransport
from mmoms.venues.errors import MissingCredentialsError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BTC = Symbol("BTCUSDC")
KEY_VARS = ("MMOMS_BINANCE_API_KEY", "MMOMS_BINANCE_API_SECRET", "MMOMS_BINANCE_PRIVATE_KEY")


def sim_doc() -> dict[str, Any]:
    with open(EXAMPLES / "sim.toml", "rb") as f:
        return tomllib.load(f)


def test_the_sim_example_maps_onto_the_engine_dataclasses() -> None:
    cfg = load_config(EXAMPLES / "sim.toml")
    assert cfg.venue.kind is VenueKind.SIM
    assert cfg.symbols == (Symbol("BTCUSDC"), Symbol("ETHUSDC"))
    limits = cfg.oms.risk.limits[BTC]
    assert limits.max_position == D("0.1")
    assert limits.max_open_orders == 40
    assert limits.price_band_pct == D(2)
    assert cfg.oms.risk.max_orders_per_second == 15
    assert cfg.oms.risk.circuit_error_rate == 0.5
    assert cfg.oms.tolerance_for(BTC).price_ticks == 10
    assert cfg.oms.tolerance_for(BTC).qty_pct == D(50)
    assert cfg.oms.batch_window_s == pytest.approx(0.010)
    assert cfg.oms.client_id_prefix == "mm"
    [spec] = cfg.strategies
    assert spec.strategy_id == "mm"
    assert spec.cls.__name__ == "SkewedQuoter"  # no entry: the default strategy
    assert spec.on_callback_error == "continue"
    assert spec.symbols == (Symbol("BTCUSDC"), Symbol("ETHUSDC"))  # the class's own
    assert cfg.oms.dead_man_switch_ms == 0
    assert cfg.metrics.port == 9108
    assert cfg.oms.flatten_overfill is True


def test_flatten_overfill_can_be_turned_off_and_must_be_a_boolean() -> None:
    doc = sim_doc()
    doc["oms"]["flatten_overfill"] = False
    assert parse_config(doc).oms.flatten_overfill is False
    doc["oms"]["flatten_overfill"] = "no"
    with pytest.raises(ConfigError, match="flatten_overfill"):
        parse_config(doc)


def test_the_binance_examples_load_with_their_hosts() -> None:
    testnet = load_config(EXAMPLES / "binance-testnet.toml")
    assert testnet.venue.kind is VenueKind.BINANCE_TESTNET
    assert testnet.venue.binance.rest_url == "https://demo-fapi.binance.com"
    assert testnet.venue.market_data_url == testnet.venue.binance.stream_url
    assert testnet.oms.dead_man_switch_ms == 30_000
    [spec] = testnet.strategies
    assert spec.symbols == (Symbol("BTCUSDT"),)
    assert spec.build().size == {"BTCUSDC": D("0.002"), "ETHUSDC": D("0.05"), "BTCUSDT": D("0.002")}  # type: ignore[attr-defined]
    prod = load_config(EXAMPLES / "binance.toml")
    assert prod.venue.kind is VenueKind.BINANCE
    assert prod.venue.binance.rest_url == "https://fapi.binance.com"
    assert prod.venue.binance.order_transport is OrderTransport.WS_API
    assert prod.venue.binance.recv_window_ms == 3000
    assert prod.oms.tolerance_for(BTC).price_ticks == 5


def test_url_overrides_apply_to_a_real_venue() -> None:
    doc = sim_doc()
    doc["venue"] = {
        "kind": "binance",
        "rest_url": "http://127.0.0.1:8080",
        "stream_url": "ws://127.0.0.1:8080",
    }
    cfg = parse_config(doc)
    assert cfg.venue.binance.rest_url == "http://127.0.0.1:8080"
    assert cfg.venue.market_data_url == "ws://127.0.0.1:8080"  # follows stream_url


def _set(doc: dict[str, Any], path: str, value: object) -> None:
    *parents, last = path.split(".")
    table = doc
    for name in parents:
        table = table.setdefault(name, {})
    if value is _DELETE:
        del table[last]
    else:
        table[last] = value


_DELETE = object()

BAD = [
    # floats for money: refused, with the exact wording people will see
    (
        "risk.BTCUSDC.max_position",
        0.1,
        '[risk.BTCUSDC] max_position: expected a decimal string like "0.1", got 0.1 (float)',
    ),
    (
        "strategy.params.size",
        {"BTCUSDC": 0.002},
        '[strategy.params] size.BTCUSDC: money is written as a string ("0.002")',
    ),
    ("tolerance.qty_pct", 50.0, "[tolerance] qty_pct: expected a decimal string"),
    ("risk.BTCUSDC.max_order_qty", "abc", "[risk.BTCUSDC] max_order_qty: expected a decimal"),
    ("risk.BTCUSDC.max_order_qty", "NaN", "[risk.BTCUSDC] max_order_qty: expected a finite"),
    ("strategy.params.levels", 0, "[strategy.params]: SkewedQuoter(...) refused: levels"),
    ("strategy.params.levels", "3", "[strategy.params] levels: expected an integer, got '3'"),
    ("strategy.params.levls", 3, "[strategy.params] levls: SkewedQuoter takes no such parameter"),
    ("strategy.entry", "nowhere.py:X", "[strategy] entry: strategy entry 'nowhere.py:X': no file"),
    ("strategy.entry", "json:loads", "json:loads': loads is not a subclass of mmoms.Strategy"),
    ("strategy.entry", "no_such_module_x:X", "no module 'no_such_module_x'"),
    ("strategy.entry", "mmoms.strategy.base:Nope", "no 'Nope' in mmoms.strategy.base"),
    ("strategy.entry", "file.py", "expected 'path/to/file.py:ClassName'"),
    ("strategy.symbols", "BTCUSDC", "[strategy] symbols: expected a list of symbols"),
    ("strategy.symbols", ["btcusdc"], "[strategy] symbols: 'btcusdc' is not a symbol"),
    ("strategy.symbols", [], "[strategy] symbols: SkewedQuoter names no symbols"),
    ("strategy.on_callback_error", "ignore", "[strategy] on_callback_error: expected one of"),
    ("strategy.id", "has space", "[strategy] id: expected 1-32 letters"),
    ("strategy.levels", 3, "[strategy] levels: unknown key"),
    ("strategy.limits.BTCUSDT", {"max_position": "1"}, "the strategy does not trade BTCUSDT"),
    ("strategy.limits.BTCUSDC", {"max_position": 0.1}, "max_position: expected a decimal"),
    ("strategy.limits.BTCUSDC", {"max_open_orders": 0}, "max_open_orders: must be at least 1"),
    ("strategy.limits.BTCUSDC", {"max_positon": "1"}, "max_positon: unknown key"),
    # typos and misplaced keys
    ("oms.batch_windw_ms", 10, "[oms] batch_windw_ms: unknown key; did you mean 'batch_window_ms'"),
    ("risk.ETHUSDC.max_positon", "1", "[risk.ETHUSDC] max_positon: unknown key; did you mean"),
    ("metric", {"port": 1}, "[metric]: unknown section; did you mean 'metrics'"),
    ("risk.circuit_braker", {"error_rate": 0.5}, "[risk.circuit_braker]: unknown section"),
    ("risk.btcusdc", {"max_order_qty": "1"}, "[risk.btcusdc]: unknown section"),
    ("strategy.BTCUSDC", {"size": "1"}, "[strategy.BTCUSDC]: unknown section"),
    ("strategies", {"a": {}}, "[strategy] and [strategies]: give one strategy or several"),
    # wrong types and ranges
    ("venue.kind", "bnance", '[venue] kind: expected one of "sim", "binance-testnet", "binance"'),
    ("venue.order_transport", "grpc", '[venue] order_transport: expected one of "rest", "ws"'),
    ("venue.recv_window_ms", 0, "[venue] recv_window_ms: must be at least 1"),
    ("venue.rest_url", "http://x", '[venue] rest_url: not used with kind = "sim"'),
    ("oms.allow_amend", "yes", "[oms] allow_amend: expected true or false, got 'yes' (string)"),
    ("oms.dead_man_switch_ms", 100, "[oms] dead_man_switch_ms: 0 (off) or at least 5000"),
    ("oms.client_id_prefix", "mm-with-dash", "[oms] client_id_prefix: expected 1-8 letters"),
    ("risk.BTCUSDC.max_open_orders", "40", "[risk.BTCUSDC] max_open_orders: expected an integer"),
    ("risk.max_orders_per_second", True, "[risk] max_orders_per_second: expected an integer"),
    ("metrics.port", 70_000, "[metrics] port: must be at most 65535"),
    ("journal", "runs/j.sqlite", "journal: expected a table [journal], got string"),
    # required things missing
    ("risk.ETHUSDC.max_position", _DELETE, "[risk.ETHUSDC] max_position: missing (required)"),
    ("risk.ETHUSDC", _DELETE, "[risk.ETHUSDC]: missing; every traded symbol needs limits"),
    ("venue", _DELETE, "[venue]: missing section"),
    ("venue.kind", _DELETE, "[venue] kind: missing (required)"),
]


@pytest.mark.parametrize(("path", "value", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_refused_naming_the_key(path: str, value: object, message: str) -> None:
    doc = copy.deepcopy(sim_doc())
    _set(doc, path, value)
    with pytest.raises(ConfigError) as info:
        parse_config(doc)
    assert message in str(info.value)


def test_untraded_symbol_tables_are_allowed_and_a_traded_one_without_limits_is_not() -> None:
    doc = sim_doc()
    doc["risk"]["SOLUSDC"] = dict(doc["risk"]["BTCUSDC"])  # ready for another strategy
    doc["tolerance"]["SOLUSDC"] = {"price_ticks": 1}
    assert parse_config(doc).symbols == (Symbol("BTCUSDC"), Symbol("ETHUSDC"))
    doc["strategy"]["symbols"] = ["BTCUSDC", "XRPUSDC"]
    with pytest.raises(ConfigError, match=r"\[risk.XRPUSDC\]: missing; every traded symbol"):
        parse_config(doc)


def test_the_dead_man_switch_is_on_by_default_for_real_venues_only() -> None:
    doc = sim_doc()
    del doc["oms"]["dead_man_switch_ms"]
    assert parse_config(doc).oms.dead_man_switch_ms == 0  # the simulator
    for kind in ("binance", "binance-testnet"):
        doc["venue"] = {"kind": kind}
        assert parse_config(doc).oms.dead_man_switch_ms == 30_000
    doc["oms"]["dead_man_switch_ms"] = 0  # still possible to turn off, by saying so
    assert parse_config(doc).oms.dead_man_switch_ms == 0


def test_a_strategy_s_own_limits() -> None:
    doc = sim_doc()
    doc["strategy"]["limits"] = {"BTCUSDC": {"max_position": "0.01", "max_open_orders": 4}}
    cfg = parse_config(doc)
    assert cfg.oms.strategy_limits == {
        (StrategyId("mm"), BTC): StrategyLimits(max_position=D("0.01"), max_open_orders=4)
    }


def test_several_strategies_each_with_its_own_section(tmp_path: Path) -> None:
    cfg = load_config(EXAMPLES / "two-strategies.toml")
    assert [(s.strategy_id, s.cls.__name__, s.symbols) for s in cfg.strategies] == [
        ("quoter", "SkewedQuoter", (Symbol("BTCUSDC"),)),
        ("taker", "IocTaker", (Symbol("ETHUSDC"),)),
    ]
    assert cfg.symbols == (Symbol("BTCUSDC"), Symbol("ETHUSDC"))
    taker = cfg.strategies[1].build()
    assert taker.quantity == D("0.05")  # type: ignore[attr-defined]
    doc = tomllib.loads((EXAMPLES / "two-strategies.toml").read_text())
    doc["strategies"]["taker"]["id"] = "quoter"
    with pytest.raises(ConfigError, match="'quoter' is used twice"):
        parse_config(doc, base_dir=EXAMPLES)
    with pytest.raises(ConfigError, match="--strategy replaces the entry of a single"):
        parse_config(doc, strategy_entry="x.py:Y", base_dir=EXAMPLES)


def test_strategy_override_and_entries_relative_to_the_config(tmp_path: Path) -> None:
    text = (EXAMPLES / "demo.toml").read_text()
    copied = tmp_path / "conf" / "demo.toml"
    (tmp_path / "conf" / "strategies").mkdir(parents=True)
    copied.write_text(text)
    with pytest.raises(ConfigError, match="no file"):  # strategies/ next to the config: empty
        load_config(copied)
    for name in ("skewed_quoter.py", "widen_and_protect.py"):
        source = (EXAMPLES / "strategies" / name).read_text()
        (tmp_path / "conf" / "strategies" / name).write_text(source)
    assert [s.cls.__name__ for s in load_config(copied).strategies] == [
        "SkewedQuoter",
        "WidenAndProtect",
    ]
    taker = f"{EXAMPLES / 'strategies' / 'ioc_taker.py'}:IocTaker"
    cfg = load_config(EXAMPLES / "sim.toml", strategy_entry=taker)
    assert cfg.strategies[0].cls.__name__ == "IocTaker"
    assert cfg.symbols == (Symbol("ETHUSDC"),)


def test_files_that_cannot_be_read_or_parsed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[venue\nkind = 'sim'\n")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_config(broken)


def test_a_postgres_dsn_is_never_shown() -> None:
    doc = sim_doc()
    doc["journal"] = {"postgres_dsn": "postgresql://u:hunter2@db/x", "postgres_schema": "prod"}
    cfg = parse_config(doc)
    assert cfg.journal.postgres_dsn == "postgresql://u:hunter2@db/x"
    assert "hunter2" not in repr(cfg)
    assert "hunter2" not in cfg.journal.describe()
    doc["journal"] = {"postgres_dsn": "postgresql://u:hunter2@db/x", "sqlite_path": "j.sqlite"}
    with pytest.raises(ConfigError) as info:
        parse_config(doc)
    assert "hunter2" not in str(info.value)


def test_journal_durability_defaults_to_process_and_is_checked() -> None:
    doc = sim_doc()
    assert parse_config(doc).journal.durability == "process"
    doc["journal"] = {"sqlite_path": "j.sqlite", "durability": "fsync"}
    assert parse_config(doc).journal.durability == "fsync"
    doc["journal"] = {"sqlite_path": "j.sqlite", "durability": "sometimes"}
    with pytest.raises(ConfigError, match='durability: expected "process" or "fsync"'):
        parse_config(doc)
    doc["journal"] = {"postgres_dsn": "postgresql://db/x", "durability": "fsync"}
    with pytest.raises(ConfigError, match="SQLite only"):
        parse_config(doc)


def test_a_config_error_through_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (EXAMPLES / "sim.toml").read_text().replace('max_position = "0.1"', "max_position = 0.1")
    path = tmp_path / "bad.toml"
    path.write_text(text)
    assert run_cli.main(["--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        'config error: [risk.BTCUSDC] max_position: expected a decimal string like "0.1", '
        "got 0.1 (float)"
    )


@pytest.mark.parametrize("example", ["binance-testnet.toml", "binance.toml"])
def test_a_real_venue_without_keys_refuses_to_start(
    example: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for var in KEY_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MMOMS_BINANCE_API_KEY", "key-value-that-must-not-leak")
    assert run_cli.main(["--config", str(EXAMPLES / example), "--dry-run"]) == 2
    out = capsys.readouterr()
    assert "MMOMS_BINANCE_API_SECRET" in out.err
    assert "MMOMS_BINANCE_PRIVATE_KEY" in out.err
    assert "key-value-that-must-not-leak" not in out.err + out.out

    monkeypatch.delenv("MMOMS_BINANCE_API_KEY")
    monkeypatch.setenv("MMOMS_BINANCE_API_SECRET", "secret-that-must-not-leak")
    assert run_cli.main(["--config", str(EXAMPLES / example)]) == 2
    out = capsys.readouterr()
    assert "MMOMS_BINANCE_API_KEY is not set" in out.err
    assert "secret-that-must-not-leak" not in out.err + out.out


def test_credentials_come_from_the_environment_only(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in KEY_VARS:
        monkeypatch.delenv(var, raising=False)
    assert credentials_for(VenueKind.SIM) is None  # the simulator makes its own
    with pytest.raises(MissingCredentialsError, match="MMOMS_BINANCE_API_KEY"):
        credentials_for(VenueKind.BINANCE)
    monkeypatch.setenv("MMOMS_BINANCE_API_KEY", "key-1234567890")
    monkeypatch.setenv("MMOMS_BINANCE_API_SECRET", "secret-1234567890")
    creds = credentials_for(VenueKind.BINANCE_TESTNET)
    assert creds is not None
    assert creds.api_key == "key-1234567890"
    assert "1234567890" not in repr(creds)
