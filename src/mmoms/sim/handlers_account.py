"""Account endpoints: balances, positions, settings, fees, listenKeys.

Shapes follow the real payloads (tests/sim/test_real_payloads.py) and ``binance-usdm.md`` §3.7:
v2 positionRisk carries ``isolated`` and ``adlQuantile`` (2026 captures); v2 account has no
``feeBurn`` (neither the capture nor Binance's example shows it). v2 account/positionRisk list
every symbol; v3 only the
symbols with a position or open orders, and v3 positionRisk drops leverage/marginType (read them
from ``symbolConfig``). Numbers derived from margin (initialMargin, availableBalance…) come from
:meth:`mmoms.sim.account.Account.margin`, so the order path and the reports agree.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from . import errors
from . import events as ev
from .account import Account, AssetMargin, Position
from .api import Endpoint, Params, Security
from .params import optional, parse_bool, required, required_int
from .specs import SymbolSpec, fmt8
from .validation import symbol_spec

if TYPE_CHECKING:
    from .exchange import SimExchange

__all__ = ["account_endpoints"]

ZERO = Decimal(0)
SUCCESS = {"code": 200, "msg": "success"}


def account_endpoints(ex: SimExchange) -> list[Endpoint]:
    specs = ex.specs

    def margin_of(account: Account, asset: str) -> AssetMargin:
        return account.margin(asset, specs, ex.engine.marks)

    def symbols_for(params: Params) -> list[SymbolSpec]:
        if params.get("symbol"):
            return [symbol_spec(params, specs)]
        return list(specs.values())

    def active(account: Account, spec: SymbolSpec) -> bool:
        exp = account.exposure.get(spec.symbol)
        has_orders = exp is not None and exp.count > 0
        return has_orders or any(
            (p := account.positions.get((spec.symbol, side))) is not None and p.lots != 0
            for side in account.position_sides()
        )

    def positions(account: Account, spec: SymbolSpec) -> list[Position]:
        return [account.position(spec.symbol, side) for side in account.position_sides()]

    def position_numbers(account: Account, spec: SymbolSpec, pos: Position) -> dict[str, Any]:
        mark = ex.engine.marks[spec.symbol]
        settings = account.settings_for(spec.symbol)
        qty = pos.lots * spec.step
        notional = qty * mark
        im = abs(notional) / settings.leverage
        iso = im if settings.isolated else ZERO
        return {
            "symbol": spec.symbol,
            "positionSide": pos.side,
            "positionAmt": spec.fmt_qty(pos.lots),
            "entryPrice": fmt8(pos.entry),
            "breakEvenPrice": ev.position_wire(account, spec, pos, mark)["bep"],
            "markPrice": fmt8(mark),
            "unRealizedProfit": fmt8(qty * (mark - pos.entry)),
            "liquidationPrice": "0",
            "isolatedMargin": fmt8(iso),
            "notional": fmt8(notional),
            "marginAsset": spec.margin_asset,
            "isolatedWallet": fmt8(iso),
            "initialMargin": fmt8(im),
            "maintMargin": fmt8(abs(notional) * Decimal(spec.config.maint_margin_percent) / 100),
            "positionInitialMargin": fmt8(im),
            "openOrderInitialMargin": "0",
            "adl": 0,
            "bidNotional": spec.fmt_quote(_exp(account, spec.symbol)[0]),
            "askNotional": spec.fmt_quote(_exp(account, spec.symbol)[1]),
            "updateTime": pos.update_time,
        }

    def position_risk_v3(account: Account, params: Params) -> Any:
        return [
            position_numbers(account, spec, pos)
            for spec in symbols_for(params)
            if active(account, spec)
            for pos in positions(account, spec)
        ]

    def position_risk_v2(account: Account, params: Params) -> Any:
        out = []
        for spec in symbols_for(params):
            settings = account.settings_for(spec.symbol)
            for pos in positions(account, spec):
                full = position_numbers(account, spec, pos)
                out.append(
                    {
                        "symbol": spec.symbol,
                        "positionAmt": full["positionAmt"],
                        "entryPrice": full["entryPrice"],
                        "breakEvenPrice": full["breakEvenPrice"],
                        "markPrice": full["markPrice"],
                        "unRealizedProfit": full["unRealizedProfit"],
                        "liquidationPrice": "0",
                        "leverage": str(settings.leverage),
                        "maxNotionalValue": spec.config.max_notional,
                        "marginType": "isolated" if settings.isolated else "cross",
                        "isolatedMargin": full["isolatedMargin"],
                        "isAutoAddMargin": "false",
                        "positionSide": pos.side,
                        "notional": full["notional"],
                        "isolatedWallet": full["isolatedWallet"],
                        "updateTime": pos.update_time,
                        "isolated": settings.isolated,
                        "adlQuantile": 0,  # no auto-deleveraging queue here
                    }
                )
        return out

    def asset_entry(account: Account, asset: str, v2: bool) -> dict[str, Any]:
        m = margin_of(account, asset)
        available = fmt8(m.available)
        entry = {
            "asset": asset,
            "walletBalance": fmt8(m.wallet),
            "unrealizedProfit": fmt8(m.unrealized),
            "marginBalance": fmt8(m.margin_balance),
            "maintMargin": fmt8(m.maint),
            "initialMargin": fmt8(m.initial),
            "positionInitialMargin": fmt8(m.position_im),
            "openOrderInitialMargin": fmt8(m.order_im),
            "crossWalletBalance": fmt8(m.wallet),
            "crossUnPnl": fmt8(m.unrealized),
            "availableBalance": available,
            "maxWithdrawAmount": fmt8(max(ZERO, min(m.wallet, m.available))),
            "updateTime": account.update_time,
        }
        if v2:
            entry["marginAvailable"] = True
        return entry

    def account_info(account: Account, v2: bool) -> dict[str, Any]:
        assets = sorted(account.wallets)
        totals = [margin_of(account, a) for a in assets]

        def total(attr: str) -> str:
            return fmt8(sum((getattr(m, attr) for m in totals), ZERO))

        body: dict[str, Any] = {
            "totalInitialMargin": total("initial"),
            "totalMaintMargin": total("maint"),
            "totalWalletBalance": total("wallet"),
            "totalUnrealizedProfit": total("unrealized"),
            "totalMarginBalance": total("margin_balance"),
            "totalPositionInitialMargin": total("position_im"),
            "totalOpenOrderInitialMargin": total("order_im"),
            "totalCrossWalletBalance": total("wallet"),
            "totalCrossUnPnl": total("unrealized"),
            "availableBalance": total("available"),
            "maxWithdrawAmount": total("available"),
            "assets": [asset_entry(account, a, v2) for a in assets],
        }
        pos_list = []
        keys = _V2_POSITION_KEYS if v2 else _V3_POSITION_KEYS
        for spec in specs.values():
            if not v2 and not active(account, spec):
                continue
            settings = account.settings_for(spec.symbol)
            for pos in positions(account, spec):
                full = position_numbers(account, spec, pos)
                item = {k: full[k] for k in keys}
                item["unrealizedProfit"] = full["unRealizedProfit"]
                if v2:
                    item.update(
                        leverage=str(settings.leverage),
                        isolated=settings.isolated,
                        entryPrice=full["entryPrice"],
                        maxNotional=spec.config.max_notional,
                        bidNotional=full["bidNotional"],
                        askNotional=full["askNotional"],
                        positionInitialMargin=full["positionInitialMargin"],
                        openOrderInitialMargin="0",
                    )
                pos_list.append(item)
        body["positions"] = pos_list
        if v2:
            body.update(
                feeTier=0,
                canTrade=True,
                canDeposit=True,
                canWithdraw=True,
                updateTime=0,
                multiAssetsMargin=account.multi_assets,
                tradeGroupId=-1,
            )
        return body

    def balance(account: Account, _params: Params) -> Any:
        out = []
        for asset in sorted(account.wallets):
            m = margin_of(account, asset)
            out.append(
                {
                    "accountAlias": account.alias,
                    "asset": asset,
                    "balance": fmt8(m.wallet),
                    "crossWalletBalance": fmt8(m.wallet),
                    "crossUnPnl": fmt8(m.unrealized),
                    "availableBalance": fmt8(m.available),
                    "maxWithdrawAmount": fmt8(max(ZERO, min(m.wallet, m.available))),
                    "marginAvailable": True,
                    "updateTime": account.update_time,
                }
            )
        return out

    def set_leverage(account: Account, params: Params) -> Any:
        spec = symbol_spec(params, specs)
        leverage = required_int(params, "leverage")
        if not 1 <= leverage <= spec.config.max_leverage:
            raise errors.invalid_param("leverage")
        account.settings_for(spec.symbol).leverage = leverage
        ex.emit_user(account, ev.account_config_leverage(ex.now(), spec.symbol, leverage))
        return {
            "leverage": leverage,
            "maxNotionalValue": spec.config.max_notional,
            "symbol": spec.symbol,
        }

    def set_margin_type(account: Account, params: Params) -> Any:
        spec = symbol_spec(params, specs)
        wanted = required(params, "marginType").upper()
        if wanted not in ("ISOLATED", "CROSSED"):
            raise errors.invalid_param("marginType")
        settings = account.settings_for(spec.symbol)
        if settings.margin_type == wanted:
            raise errors.no_need_margin_type()
        if wanted == "ISOLATED" and account.multi_assets:
            raise errors.isolated_multi_assets()
        exp = account.exposure.get(spec.symbol)
        if exp is not None and exp.count:
            raise errors.margin_type_open_orders()
        if any(p.lots for p in positions(account, spec)):
            raise errors.margin_type_position()
        settings.isolated = wanted == "ISOLATED"
        return dict(SUCCESS)

    def get_dual(account: Account, _params: Params) -> Any:
        return {"dualSidePosition": account.dual_side}

    def set_dual(account: Account, params: Params) -> Any:
        wanted = parse_bool("dualSidePosition", required(params, "dualSidePosition"))
        if wanted == account.dual_side:
            raise errors.no_need_position_side()
        if account.open_orders:
            raise errors.position_side_open_orders()
        if account.has_positions():
            raise errors.position_side_positions()
        account.dual_side = wanted
        return dict(SUCCESS)

    def get_multi(account: Account, _params: Params) -> Any:
        return {"multiAssetsMargin": account.multi_assets}

    def set_multi(account: Account, params: Params) -> Any:
        wanted = parse_bool("multiAssetsMargin", required(params, "multiAssetsMargin"))
        if wanted == account.multi_assets:
            raise errors.no_need_multi_assets()
        if wanted and any(s.isolated for s in account.settings.values()):
            raise errors.multi_assets_isolated()
        account.multi_assets = wanted
        ex.emit_user(account, ev.account_config_multi_assets(ex.now(), wanted))
        return dict(SUCCESS)

    def commission(_account: Account, params: Params) -> Any:
        spec = symbol_spec(params, specs)
        return {
            "symbol": spec.symbol,
            "makerCommissionRate": spec.config.maker_fee,
            "takerCommissionRate": spec.config.taker_fee,
            "rpiCommissionRate": spec.config.maker_fee,
        }

    def account_config(account: Account, _params: Params) -> Any:
        return {
            "feeTier": 0,
            "canTrade": True,
            "canDeposit": True,
            "canWithdraw": True,
            "dualSidePosition": account.dual_side,
            "updateTime": 0,
            "multiAssetsMargin": account.multi_assets,
            "tradeGroupId": -1,
        }

    def symbol_config(account: Account, params: Params) -> Any:
        return [
            {
                "symbol": spec.symbol,
                "marginType": account.settings_for(spec.symbol).margin_type,
                "isAutoAddMargin": False,
                "leverage": account.settings_for(spec.symbol).leverage,
                "maxNotionalValue": spec.config.max_notional,
            }
            for spec in symbols_for(params)
        ]

    def leverage_bracket(_account: Account, params: Params) -> Any:
        return [
            {
                "symbol": spec.symbol,
                "notionalCoef": 1.0,
                "brackets": [
                    {
                        "bracket": 1,
                        "initialLeverage": spec.config.max_leverage,
                        "notionalCap": int(Decimal(spec.config.max_notional)),
                        "notionalFloor": 0,
                        "maintMarginRatio": float(Decimal(spec.config.maint_margin_percent) / 100),
                        "cum": 0.0,
                    }
                ],
            }
            for spec in symbols_for(params)
        ]

    def income(_account: Account, _params: Params) -> Any:
        return []  # no funding, transfers or commissions history is kept as income records

    def listen_key_start(account: Account, _params: Params) -> Any:
        return {"listenKey": ex.listen_keys.start(account.api_key, ex.now())}

    def listen_key_keepalive(account: Account, params: Params) -> Any:
        key = ex.listen_keys.keepalive(account.api_key, optional(params, "listenKey"), ex.now())
        return {"listenKey": key}

    def listen_key_close(account: Account, params: Params) -> Any:
        ex.listen_keys.close(account.api_key, optional(params, "listenKey"))
        return {}

    signed, stream = Security.SIGNED, Security.USER_STREAM

    def w(n: int) -> Any:
        return lambda _p: n

    return [
        Endpoint("GET", "/fapi/v2/account", signed, lambda a, _p: account_info(a, True), w(5)),
        Endpoint("GET", "/fapi/v3/account", signed, lambda a, _p: account_info(a, False), w(5)),
        Endpoint("GET", "/fapi/v2/balance", signed, balance, w(5)),
        Endpoint("GET", "/fapi/v3/balance", signed, balance, w(5)),
        Endpoint("GET", "/fapi/v2/positionRisk", signed, position_risk_v2, w(5)),
        Endpoint("GET", "/fapi/v3/positionRisk", signed, position_risk_v3, w(5)),
        Endpoint("POST", "/fapi/v1/leverage", signed, set_leverage),
        Endpoint("POST", "/fapi/v1/marginType", signed, set_margin_type),
        Endpoint("GET", "/fapi/v1/positionSide/dual", signed, get_dual, w(30)),
        Endpoint("POST", "/fapi/v1/positionSide/dual", signed, set_dual),
        Endpoint("GET", "/fapi/v1/multiAssetsMargin", signed, get_multi, w(30)),
        Endpoint("POST", "/fapi/v1/multiAssetsMargin", signed, set_multi),
        Endpoint("GET", "/fapi/v1/commissionRate", signed, commission, w(20)),
        Endpoint("GET", "/fapi/v1/accountConfig", signed, account_config, w(5)),
        Endpoint("GET", "/fapi/v1/symbolConfig", signed, symbol_config, w(5)),
        Endpoint("GET", "/fapi/v1/leverageBracket", signed, leverage_bracket),
        Endpoint("GET", "/fapi/v1/income", signed, income, w(30)),
        Endpoint("POST", "/fapi/v1/listenKey", stream, listen_key_start),
        Endpoint("PUT", "/fapi/v1/listenKey", stream, listen_key_keepalive),
        Endpoint("DELETE", "/fapi/v1/listenKey", stream, listen_key_close),
    ]


# v3 positions as captured; v2 positions as Binance's example shows them (no isolated figures)
_V3_POSITION_KEYS = (
    "symbol",
    "positionSide",
    "positionAmt",
    "isolatedMargin",
    "notional",
    "isolatedWallet",
    "initialMargin",
    "maintMargin",
    "updateTime",
)
_V2_POSITION_KEYS = (
    "symbol",
    "positionSide",
    "positionAmt",
    "initialMargin",
    "maintMargin",
    "updateTime",
)


def _exp(account: Account, symbol: str) -> tuple[int, int]:
    exp = account.exposure.get(symbol)
    return (exp.buy_tl, exp.sell_tl) if exp is not None else (0, 0)
