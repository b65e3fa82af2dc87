"""Binance USDⓈ-M wire schemas: msgspec Structs that mirror the JSON field by field.

Decisions:

* One struct per payload shape; one comment per field saying what Binance means by it.
  Attribute names are descriptive; ``name=`` (stream events) or ``rename="camel"`` (REST replies)
  keeps the exact wire key. Unknown wire fields are ignored, so a field Binance adds never breaks
  decoding; a field it drops only breaks what we actually require.
* Enumerations stay ``str`` here (the wire's spelling); :mod:`.codec` maps them through explicit
  two-way tables, so a value Binance adds gives a clear error instead of a decode failure.
* Prices and quantities decode straight into ``Decimal`` (msgspec parses the string in C).
  Fields that Binance sometimes sends as ``""``/``"None"``/``null`` (algo orders, trailing
  fields) stay ``str | None`` and are converted leniently by the codec.
* Ids are ``int`` (Python ints are unbounded: int64 ids such as ``8389765739703625592`` are fine).
  Ids and millisecond times are range-checked at decode (:data:`Id`, :data:`Ms`): a negative
  id or a time whose nanoseconds overflow int64 is a decode error here, not a crash (or a journal
  that cannot store the value) further on.
* Stream events form one tagged union on ``"e"`` so one decode call dispatches on the type.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import msgspec
from msgspec import field

INT64_MAX = 2**63 - 1
MAX_MS = INT64_MAX // 1_000_000  # the latest millisecond time whose nanoseconds fit in int64

Id = Annotated[int, msgspec.Meta(ge=0, le=INT64_MAX)]
"""A venue id (order, trade, algo): non-negative int64."""
Ms = Annotated[int, msgspec.Meta(ge=0, le=MAX_MS)]
"""A venue time in ms: non-negative, and ``ms * 1_000_000`` fits in int64."""
Leverage = Annotated[int, msgspec.Meta(ge=1, le=1000)]
"""A leverage (Binance: 1..125; a wider range, so a new maximum does not break decoding)."""


class _Rest(msgspec.Struct, frozen=True, kw_only=True, rename="camel", gc=False):
    """Base of REST reply structs: camelCase wire keys from snake_case attribute names."""


class _Wire(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Base of stream structs: wire keys given per field with ``name=``."""


# ============================================================================================
# REST replies
# ============================================================================================


class ErrorBody(msgspec.Struct, frozen=True, kw_only=True):
    code: int | str | None = None  # Binance error code (negative int); "200" string in algo cancel
    msg: str = ""  # Binance's message text


class ServerTime(_Rest, frozen=True, kw_only=True):
    server_time: Ms  # serverTime: venue wall clock, ms


class ListenKeyReply(_Rest, frozen=True, kw_only=True):
    listen_key: str | None = None  # listenKey; PUT may answer {} in older revisions


class OrderReply(_Rest, frozen=True, kw_only=True):
    """New / modify / cancel / query / openOrders / allOrders item."""

    order_id: Id  # orderId: venue order id, self-increment per symbol (int64)
    symbol: str  # symbol
    status: str  # status: NEW, PARTIALLY_FILLED, FILLED, CANCELED, REJECTED, EXPIRED, ...
    client_order_id: str  # clientOrderId
    price: Decimal  # price: limit price ("0" for market)
    orig_qty: Decimal  # origQty: order quantity
    executed_qty: Decimal  # executedQty: cumulative filled quantity
    side: str  # side: BUY / SELL
    type: str  # type: order type
    time_in_force: str | None = None  # timeInForce: GTC / IOC / FOK / GTX / GTD / RPI
    avg_price: Decimal | None = None  # avgPrice: only on query replies since SDK 14
    cum_qty: Decimal | None = None  # cumQty: same as executedQty
    cum_quote: Decimal | None = None  # cumQuote: filled notional (query replies only)
    cum_base: Decimal | None = None  # cumBase: allOrders only
    reduce_only: bool = False  # reduceOnly
    close_position: bool = False  # closePosition: close-all (conditional orders)
    position_side: str = "BOTH"  # positionSide: BOTH / LONG / SHORT
    stop_price: Decimal | None = None  # stopPrice: legacy conditional trigger
    working_type: str | None = None  # workingType: MARK_PRICE / CONTRACT_PRICE
    price_protect: bool = False  # priceProtect
    orig_type: str | None = None  # origType: type at placement
    price_match: str | None = None  # priceMatch: NONE / OPPONENT* / QUEUE*
    self_trade_prevention_mode: str | None = None  # selfTradePreventionMode
    good_till_date: int | None = None  # goodTillDate: GTD expiry, ms (0 if not GTD)
    update_time: Ms = 0  # updateTime: last change, ms
    time: Ms | None = None  # time: creation, ms (query replies)
    modify_id: int | None = None  # modifyId: echoed user tag on modify replies
    pair: str | None = None  # pair: underlying pair
    activate_price: Decimal | None = None  # activatePrice: trailing stop activation
    price_rate: Decimal | None = None  # priceRate: trailing callback rate


class CodeMsg(_Rest, frozen=True, kw_only=True):
    """``{"code": 200, "msg": "success"}`` replies (cancel-all, marginType, positionSide)."""

    code: int | str = 200  # 200 on success
    msg: str = ""  # human text


class CountdownReply(_Rest, frozen=True, kw_only=True):
    symbol: str  # symbol
    countdown_time: int | str  # countdownTime: ms, a string in the docs example


class UserTrade(_Rest, frozen=True, kw_only=True):
    """One ``/fapi/v1/userTrades`` item."""

    id: Id  # trade id, unique per symbol
    order_id: Id  # orderId
    symbol: str  # symbol
    side: str  # side
    price: Decimal  # price
    qty: Decimal  # qty
    commission: Decimal  # commission (negative = rebate)
    commission_asset: str  # commissionAsset
    realized_pnl: Decimal = Decimal(0)  # realizedPnl
    maker: bool = False  # maker: we provided liquidity
    buyer: bool = False  # buyer
    position_side: str = "BOTH"  # positionSide
    time: Ms = 0  # time, ms
    quote_qty: Decimal | None = None  # quoteQty: notional
    base_qty: Decimal | None = None  # baseQty
    margin_asset: str | None = None  # marginAsset
    pair: str | None = None  # pair


class PositionRisk(_Rest, frozen=True, kw_only=True):
    """One ``/fapi/v3/positionRisk`` (or v2) item."""

    symbol: str  # symbol
    position_side: str = "BOTH"  # positionSide
    position_amt: Decimal  # positionAmt: signed size (+ long, - short)
    entry_price: Decimal  # entryPrice
    break_even_price: Decimal | None = None  # breakEvenPrice
    mark_price: Decimal | None = None  # markPrice
    un_realized_profit: Decimal = Decimal(0)  # unRealizedProfit
    liquidation_price: Decimal | None = None  # liquidationPrice
    isolated_margin: Decimal | None = None  # isolatedMargin
    notional: Decimal | None = None  # notional
    margin_asset: str | None = None  # marginAsset
    isolated_wallet: Decimal | None = None  # isolatedWallet
    initial_margin: Decimal | None = None  # initialMargin
    maint_margin: Decimal | None = None  # maintMargin
    position_initial_margin: Decimal | None = None  # positionInitialMargin
    open_order_initial_margin: Decimal | None = None  # openOrderInitialMargin
    adl: int | None = None  # adl: auto-deleverage quantile
    bid_notional: Decimal | None = None  # bidNotional
    ask_notional: Decimal | None = None  # askNotional
    update_time: Ms = 0  # updateTime, ms
    leverage: str | None = None  # leverage (v2 only)
    margin_type: str | None = None  # marginType (v2 only): isolated / cross


class AccountAsset(_Rest, frozen=True, kw_only=True):
    asset: str  # asset
    wallet_balance: Decimal  # walletBalance
    unrealized_profit: Decimal = Decimal(0)  # unrealizedProfit
    margin_balance: Decimal | None = None  # marginBalance
    maint_margin: Decimal | None = None  # maintMargin
    initial_margin: Decimal | None = None  # initialMargin
    position_initial_margin: Decimal | None = None  # positionInitialMargin
    open_order_initial_margin: Decimal | None = None  # openOrderInitialMargin
    cross_wallet_balance: Decimal | None = None  # crossWalletBalance
    cross_un_pnl: Decimal | None = None  # crossUnPnl
    available_balance: Decimal | None = None  # availableBalance
    max_withdraw_amount: Decimal | None = None  # maxWithdrawAmount
    update_time: Ms = 0  # updateTime, ms


class AccountPosition(_Rest, frozen=True, kw_only=True):
    symbol: str  # symbol
    position_side: str = "BOTH"  # positionSide
    position_amt: Decimal  # positionAmt: signed
    unrealized_profit: Decimal = Decimal(0)  # unrealizedProfit
    isolated_margin: Decimal | None = None  # isolatedMargin
    notional: Decimal | None = None  # notional
    isolated_wallet: Decimal | None = None  # isolatedWallet
    initial_margin: Decimal | None = None  # initialMargin
    maint_margin: Decimal | None = None  # maintMargin
    entry_price: Decimal | None = None  # entryPrice (v2 only)
    update_time: Ms = 0  # updateTime, ms


class Account(_Rest, frozen=True, kw_only=True):
    """``/fapi/v3/account`` (v3 lists only symbols with a position or open orders)."""

    total_initial_margin: Decimal  # totalInitialMargin
    total_maint_margin: Decimal  # totalMaintMargin
    total_wallet_balance: Decimal  # totalWalletBalance
    total_unrealized_profit: Decimal  # totalUnrealizedProfit
    total_margin_balance: Decimal  # totalMarginBalance
    available_balance: Decimal  # availableBalance
    max_withdraw_amount: Decimal | None = None  # maxWithdrawAmount
    total_position_initial_margin: Decimal | None = None  # totalPositionInitialMargin
    total_open_order_initial_margin: Decimal | None = None  # totalOpenOrderInitialMargin
    total_cross_wallet_balance: Decimal | None = None  # totalCrossWalletBalance
    total_cross_un_pnl: Decimal | None = None  # totalCrossUnPnl
    assets: list[AccountAsset] = []  # assets: per margin asset
    positions: list[AccountPosition] = []  # positions


class Balance(_Rest, frozen=True, kw_only=True):
    """One ``/fapi/v3/balance`` item."""

    asset: str  # asset
    balance: Decimal  # balance: wallet balance
    account_alias: str | None = None  # accountAlias
    cross_wallet_balance: Decimal | None = None  # crossWalletBalance
    cross_un_pnl: Decimal | None = None  # crossUnPnl
    available_balance: Decimal | None = None  # availableBalance
    max_withdraw_amount: Decimal | None = None  # maxWithdrawAmount
    margin_available: bool | None = None  # marginAvailable: usable as multi-assets collateral
    update_time: Ms = 0  # updateTime, ms


class RateLimitEntry(_Rest, frozen=True, kw_only=True):
    rate_limit_type: str  # rateLimitType: REQUEST_WEIGHT / ORDERS / RAW_REQUEST
    interval: str  # interval: SECOND / MINUTE / DAY
    interval_num: int  # intervalNum: window length in ``interval`` units
    limit: int  # limit per window
    count: int | None = None  # count: current usage (WS API replies only)


class ExchangeInfo(_Rest, frozen=True, kw_only=True):
    """``/fapi/v1/exchangeInfo``. Symbols stay plain dicts for
    :func:`.instruments.instrument_from_exchange_info`."""

    symbols: list[dict[str, Any]]  # symbols: one entry per contract
    rate_limits: list[RateLimitEntry] = []  # rateLimits: the account's / IP's pools
    server_time: int | None = None  # serverTime, ms
    timezone: str | None = None  # timezone: "UTC"
    futures_type: str | None = None  # futuresType: "U_MARGINED"
    assets: list[dict[str, Any]] = []  # assets: margin assets (marginAvailable, ...)


class CommissionRate(_Rest, frozen=True, kw_only=True):
    symbol: str  # symbol
    maker_commission_rate: Decimal  # makerCommissionRate (negative = rebate)
    taker_commission_rate: Decimal  # takerCommissionRate
    rpi_commission_rate: Decimal | None = None  # rpiCommissionRate (since 2025-11)


class LeverageReply(_Rest, frozen=True, kw_only=True):
    leverage: Leverage  # leverage now in force
    max_notional_value: str  # maxNotionalValue: largest position at this leverage
    symbol: str  # symbol


class PositionModeReply(_Rest, frozen=True, kw_only=True):
    dual_side_position: bool  # dualSidePosition: true = hedge mode, false = one-way


class AlgoOrderReply(_Rest, frozen=True, kw_only=True):
    """``POST/GET /fapi/v1/algoOrder`` and ``openAlgoOrders`` items (conditional orders)."""

    algo_id: Id  # algoId: venue id of the conditional order (large: 2e15-ish)
    client_algo_id: str  # clientAlgoId: our id
    algo_type: str = "CONDITIONAL"  # algoType
    order_type: str  # orderType: STOP / STOP_MARKET / TAKE_PROFIT(_MARKET) / TRAILING_STOP_MARKET
    symbol: str  # symbol
    side: str  # side
    position_side: str = "BOTH"  # positionSide
    time_in_force: str | None = None  # timeInForce
    quantity: str = ""  # quantity ("" or "0" with closePosition)
    algo_status: str  # algoStatus: NEW / TRIGGERING / TRIGGERED / FINISHED / CANCELED / ...
    trigger_price: str = ""  # triggerPrice
    price: str = ""  # price: limit price once triggered ("0" for market types)
    iceberg_quantity: str | None = None  # icebergQuantity: "None" in the docs example
    self_trade_prevention_mode: str | None = None  # selfTradePreventionMode
    working_type: str | None = None  # workingType
    price_match: str | None = None  # priceMatch
    close_position: bool = False  # closePosition
    price_protect: bool = False  # priceProtect
    reduce_only: bool = False  # reduceOnly
    activate_price: str | None = None  # activatePrice: trailing activation ("" if none)
    callback_rate: str | None = None  # callbackRate: trailing callback % ("" if none)
    create_time: Ms = 0  # createTime, ms
    update_time: Ms = 0  # updateTime, ms
    trigger_time: Ms = 0  # triggerTime, ms (0 until triggered)
    good_till_date: int | None = None  # goodTillDate, ms
    actual_order_id: Id | str | None = None  # actualOrderId: matching-engine order after trigger
    actual_price: str | None = None  # actualPrice: average price in the matching engine
    actual_type: str | None = None  # actualType: order type placed on trigger
    # actualQty: executed quantity in the matching engine. In the SDK's models, in no real reply
    # captured: the fill is learnt from the order placed at trigger (see engine.groups).
    actual_qty: str | None = None


class AlgoCancelReply(_Rest, frozen=True, kw_only=True):
    algo_id: Id  # algoId
    client_algo_id: str  # clientAlgoId
    code: int | str = "200"  # code: the STRING "200" on success (unlike other endpoints)
    msg: str = ""  # msg


# ============================================================================================
# User-data stream events (tagged union on "e")
# ============================================================================================


class OrderUpdate(_Wire, frozen=True, kw_only=True):
    """``ORDER_TRADE_UPDATE.o``."""

    symbol: str = field(name="s")  # s: symbol
    client_order_id: str = field(name="c")  # c: client order id
    side: str = field(name="S")  # S: BUY / SELL
    order_type: str = field(name="o")  # o: order type (LIQUIDATION too)
    time_in_force: str = field(name="f")  # f: time in force
    quantity: Decimal = field(name="q")  # q: original quantity
    price: Decimal = field(name="p")  # p: original price
    avg_price: Decimal = field(name="ap")  # ap: average fill price
    stop_price: Decimal | None = field(name="sp", default=None)  # sp: stop price
    execution_type: str = field(name="x")  # x: NEW/CANCELED/CALCULATED/EXPIRED/TRADE/AMENDMENT
    status: str = field(name="X")  # X: order status after this event
    order_id: Id = field(name="i")  # i: venue order id (int64)
    last_qty: Decimal = field(name="l")  # l: last filled quantity
    cum_qty: Decimal = field(name="z")  # z: cumulative filled quantity (monotone)
    last_price: Decimal = field(name="L")  # L: last filled price
    commission_asset: str | None = field(name="N", default=None)  # N: absent without commission
    commission: Decimal | None = field(name="n", default=None)  # n: commission of this fill
    trade_time: Ms = field(name="T")  # T: order trade time, ms
    trade_id: Id = field(name="t")  # t: trade id (0 unless a trade)
    bids_notional: Decimal | None = field(name="b", default=None)  # b: bids notional
    asks_notional: Decimal | None = field(name="a", default=None)  # a: asks notional
    is_maker: bool = field(name="m", default=False)  # m: this trade was maker
    reduce_only: bool = field(name="R", default=False)  # R: reduce only
    working_type: str | None = field(name="wt", default=None)  # wt: stop price working type
    orig_type: str | None = field(name="ot", default=None)  # ot: original order type
    position_side: str = field(name="ps", default="BOTH")  # ps: position side
    close_position: bool = field(name="cp", default=False)  # cp: close-all (conditional)
    activation_price: Decimal | None = field(name="AP", default=None)  # AP: trailing only
    callback_rate: Decimal | None = field(name="cr", default=None)  # cr: trailing only
    price_protect: bool = field(name="pP", default=False)  # pP: price protection
    ignore_si: int | None = field(name="si", default=None)  # si: ignore
    ignore_ss: int | None = field(name="ss", default=None)  # ss: ignore
    realized_profit: Decimal = field(name="rp", default=Decimal(0))  # rp: realized pnl of trade
    stp_mode: str | None = field(name="V", default=None)  # V: self-trade prevention mode
    price_match: str | None = field(name="pm", default=None)  # pm: price match mode
    good_till_date: int | None = field(name="gtd", default=None)  # gtd: GTD auto-cancel time
    expire_reason: str | None = field(name="er", default=None)  # er: expire reason code "0".."9"
    modify_id: int | None = field(name="M", default=None)  # M: modifyId (AMENDMENT, if sent)
    working_time: int | None = field(name="W", default=None)  # W: undocumented working time


class OrderTradeUpdate(_Wire, frozen=True, kw_only=True, tag_field="e", tag="ORDER_TRADE_UPDATE"):
    event_time: Ms = field(name="E")  # E: event time, ms
    transaction_time: Ms = field(name="T")  # T: matching-engine time, ms
    order: OrderUpdate = field(name="o")  # o: the order


class TradeLite(_Wire, frozen=True, kw_only=True, tag_field="e", tag="TRADE_LITE"):
    """Low-latency trade-only event (no commission, no cumulative quantity)."""

    event_time: Ms = field(name="E")  # E: event time, ms
    transaction_time: Ms = field(name="T")  # T: transaction time, ms
    symbol: str = field(name="s")  # s: symbol
    quantity: Decimal = field(name="q")  # q: original order quantity
    price: Decimal = field(name="p")  # p: original order price
    is_maker: bool = field(name="m")  # m: this trade was maker
    client_order_id: str = field(name="c")  # c: client order id
    side: str = field(name="S")  # S: side
    last_price: Decimal = field(name="L")  # L: last filled price
    last_qty: Decimal = field(name="l")  # l: last filled quantity
    trade_id: Id = field(name="t")  # t: trade id
    order_id: Id = field(name="i")  # i: venue order id (int64)


class BalanceUpdate(_Wire, frozen=True, kw_only=True):
    asset: str = field(name="a")  # a: asset
    wallet_balance: Decimal = field(name="wb")  # wb: wallet balance
    cross_wallet_balance: Decimal | None = field(name="cw", default=None)  # cw: cross wallet
    balance_change: Decimal | None = field(name="bc", default=None)  # bc: change excl. pnl, fees


class PositionUpdate(_Wire, frozen=True, kw_only=True):
    symbol: str = field(name="s")  # s: symbol
    position_amt: Decimal = field(name="pa")  # pa: signed position amount
    entry_price: Decimal = field(name="ep")  # ep: entry price
    break_even_price: Decimal | None = field(name="bep", default=None)  # bep: break-even price
    accumulated_realized: Decimal | None = field(name="cr", default=None)  # cr: pre-fee realized
    unrealized_pnl: Decimal = field(name="up", default=Decimal(0))  # up: unrealized pnl
    margin_type: str | None = field(name="mt", default=None)  # mt: isolated / cross
    isolated_wallet: Decimal | None = field(name="iw", default=None)  # iw: isolated wallet
    position_side: str = field(name="ps", default="BOTH")  # ps: position side


class AccountUpdateData(_Wire, frozen=True, kw_only=True):
    reason: str = field(name="m")  # m: ORDER, FUNDING_FEE, DEPOSIT, ...
    balances: list[BalanceUpdate] = field(name="B", default_factory=list)  # B: changed balances
    positions: list[PositionUpdate] = field(name="P", default_factory=list)  # P: changed positions
    symbol: str | None = field(name="S", default=None)  # S: symbol (FUNDING_FEE, SDK 17.0.1)


class AccountUpdate(_Wire, frozen=True, kw_only=True, tag_field="e", tag="ACCOUNT_UPDATE"):
    event_time: Ms = field(name="E")  # E: event time, ms
    transaction_time: Ms = field(name="T")  # T: transaction time, ms
    data: AccountUpdateData = field(name="a")  # a: the update


class AlgoOrderUpdate(_Wire, frozen=True, kw_only=True):
    """``ALGO_UPDATE.o``."""

    client_algo_id: str = field(name="caid")  # caid: client algo id
    algo_id: Id = field(name="aid")  # aid: algo id
    algo_type: str = field(name="at", default="CONDITIONAL")  # at: algo type
    order_type: str = field(name="o")  # o: order type
    symbol: str = field(name="s")  # s: symbol
    side: str = field(name="S")  # S: side
    position_side: str = field(name="ps", default="BOTH")  # ps: position side
    time_in_force: str | None = field(name="f", default=None)  # f: time in force
    quantity: str = field(name="q", default="")  # q: quantity
    status: str = field(name="X")  # X: NEW/TRIGGERING/TRIGGERED/FINISHED/CANCELED/REJECTED/EXPIRED
    actual_order_id: str = field(name="ai", default="")  # ai: ME order id, a STRING ("" before)
    actual_avg_price: str = field(name="ap", default="")  # ap: avg price in ME (after trigger)
    actual_qty: str = field(name="aq", default="")  # aq: executed qty in ME (after trigger)
    actual_type: str = field(name="act", default="")  # act: order type placed in ME
    trigger_price: str = field(name="tp", default="")  # tp: trigger price
    price: str = field(name="p", default="")  # p: price
    stp_mode: str | None = field(name="V", default=None)  # V: self-trade prevention
    working_type: str | None = field(name="wt", default=None)  # wt: working type
    price_match: str | None = field(name="pm", default=None)  # pm: price match
    close_position: bool = field(name="cp", default=False)  # cp: close position
    price_protect: bool = field(name="pP", default=False)  # pP: price protection
    reduce_only: bool = field(name="R", default=False)  # R: reduce only
    trigger_time: int = field(name="tt", default=0)  # tt: trigger time, ms
    good_till_date: int | None = field(name="gtd", default=None)  # gtd: GTD time
    reject_reason: str = field(name="rm", default="")  # rm: failure reason
    activated: bool | None = field(name="ia", default=None)  # ia: trailing stop activated


class AlgoUpdate(_Wire, frozen=True, kw_only=True, tag_field="e", tag="ALGO_UPDATE"):
    # The docs label T "Event Time" and E "Transaction Time" here, inverted vs other events.
    event_time: Ms = field(name="E")  # E: as documented, "transaction time", ms
    transaction_time: Ms = field(name="T")  # T: as documented, "event time", ms
    order: AlgoOrderUpdate = field(name="o")  # o: the conditional order


class LeverageConfig(_Wire, frozen=True, kw_only=True):
    symbol: str = field(name="s")  # s: symbol
    leverage: Leverage = field(name="l")  # l: new leverage


class MultiAssetsConfig(_Wire, frozen=True, kw_only=True):
    multi_assets: bool = field(name="j")  # j: multi-assets mode on


class AccountConfigUpdate(
    _Wire, frozen=True, kw_only=True, tag_field="e", tag="ACCOUNT_CONFIG_UPDATE"
):
    event_time: Ms = field(name="E")  # E: event time, ms
    transaction_time: Ms = field(name="T")  # T: transaction time, ms
    leverage: LeverageConfig | None = field(name="ac", default=None)  # ac: leverage change
    multi_assets: MultiAssetsConfig | None = field(name="ai", default=None)  # ai: asset mode


class MarginCallPosition(_Wire, frozen=True, kw_only=True):
    symbol: str = field(name="s")  # s: symbol
    position_side: str = field(name="ps", default="BOTH")  # ps: position side
    position_amt: Decimal = field(name="pa")  # pa: signed position amount
    margin_type: str | None = field(name="mt", default=None)  # mt: margin type
    isolated_wallet: Decimal | None = field(name="iw", default=None)  # iw: isolated wallet
    mark_price: Decimal = field(name="mp")  # mp: mark price
    unrealized_pnl: Decimal = field(name="up", default=Decimal(0))  # up: unrealized pnl
    maint_margin: Decimal = field(name="mm")  # mm: maintenance margin required


class MarginCall(_Wire, frozen=True, kw_only=True, tag_field="e", tag="MARGIN_CALL"):
    event_time: Ms = field(name="E")  # E: event time, ms
    cross_wallet_balance: Decimal | None = field(name="cw", default=None)  # cw: cross only
    positions: list[MarginCallPosition] = field(name="p", default_factory=list)  # p: positions


class ListenKeyExpired(_Wire, frozen=True, kw_only=True, tag_field="e", tag="listenKeyExpired"):
    event_time: Ms | str = field(name="E")  # E: ms; a string in older docs
    listen_key: str = field(name="listenKey", default="")  # listenKey: the expired key


UserDataEvent = (
    OrderTradeUpdate
    | TradeLite
    | AccountUpdate
    | AlgoUpdate
    | AccountConfigUpdate
    | MarginCall
    | ListenKeyExpired
)
"""Every user-data event we decode; anything else is logged and ignored."""

KNOWN_EVENT_TYPES = frozenset(
    {
        "ORDER_TRADE_UPDATE",
        "TRADE_LITE",
        "ACCOUNT_UPDATE",
        "ALGO_UPDATE",
        "ACCOUNT_CONFIG_UPDATE",
        "MARGIN_CALL",
        "listenKeyExpired",
    }
)


class EventHeader(msgspec.Struct, frozen=True):
    """Just the event type (to tell an unknown event from a malformed known one), the error
    a stream sends instead of events (``{"code", "msg"}`` or ``{"error": {"code", "msg"}}``), or
    the combined-stream wrapper around an event (``{"stream", "data"}``)."""

    e: str | None = None  # e: event type
    code: int | str | None = None  # code: error code of a bare error frame
    msg: str = ""  # msg: its text
    error: ErrorBody | None = None  # error: a wrapped error frame
    stream: str | None = None  # stream: combined-stream wrapper's stream name (a listenKey)
    data: msgspec.Raw = msgspec.Raw(b"")  # data: the event inside a combined-stream wrapper


# ============================================================================================
# WebSocket API envelope
# ============================================================================================


class WsApiReply(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """``{"id", "status", "result" | "error", "rateLimits"}``; ``result`` stays raw until typed."""

    id: str | int | None = None  # id: echoes the request id
    status: int  # status: HTTP-like status
    result: msgspec.Raw = msgspec.Raw(b"")  # result: the endpoint's reply, same shape as REST
    error: ErrorBody | None = None  # error: {"code", "msg"} on failure
    rate_limits: list[RateLimitEntry] | None = None  # rateLimits: usage after this request
