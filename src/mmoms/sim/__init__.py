"""A Binance USDⓈ-M futures compatible exchange simulator.

It speaks the real wire protocol (REST, user-data WebSocket) so third-party clients work against
it unchanged. It imports nothing from :mod:`mmoms.venues` (the gateway's codec, signing or error
tables): the two sides of the wire are written separately so that one misunderstanding of the API
cannot hide in both. It may import only from :mod:`mmoms.sim` itself.

Real payloads
-------------

``tests/data/binance-real-payloads/payloads.jsonl`` holds payloads captured from the real
exchange or shown in its documentation. ``tests/sim/test_real_payloads.py`` produces each kind
here in a real scenario and requires the same keys, recursively, with the same JSON types —
except for the differences below, each deliberate and with its reason (the test reads this list,
and fails on an entry no payload needs any more). The rule behind most of them: where sources
disagree, the newest capture wins, and older payloads differ by what Binance changed since.
Format: ``payload ids`` ``paths`` kind: reason; ``*`` matches anything; ``[]`` is an array's
items; missing = the real payload has it and the simulator's has not, extra = the other way.

* ``rest.order.new.limit.*, rest.order.new.market_filled.*, rest.order.cancel.*, rest.batch.*,
  wsapi.order.modify.docs`` ``avgPrice, cumQuote, [].avgPrice, [].cumQuote, result.avgPrice,
  result.cumQuote`` missing: acknowledgements (place, amend, cancel) lost them in 2026: the
  mainnet ACK captured on 2026-08-08 has neither and SDK 14.0.0 removed them from those schemas;
  query replies keep them. The payloads here are older.
* ``rest.order.new.market_filled.*`` ``cumQty`` extra: a hand-edited bot fixture; the 2026
  mainnet acknowledgement carries ``cumQty``.
* ``rest.order.new.market_filled.*, rest.order.cancel.XRPUSDT.2022, rest.*.trailing.docs,
  rest.allOrders.WOOUSDT.2023`` ``goodTillDate, priceMatch, selfTradePreventionMode,
  [].goodTillDate, [].priceMatch, [].selfTradePreventionMode`` extra: fields Binance added in
  2023 (GTD, price match, STP); these payloads predate them and every later capture has them.
* ``rest.*.trailing.docs, rest.batch.cancel.with_error.docs`` ``activatePrice, priceRate,
  [].activatePrice, [].priceRate`` missing: a legacy trailing stop held by the matching engine;
  since 2025-12-09 conditional orders live in the algo service (``/fapi/v1/algoOrder``, whose
  replies carry ``activatePrice`` / ``callbackRate``), so a regular order never has them.
* ``rest.userTrades.BTCUSDT.2023, rest.userTrades.ETHUSDT.2022`` ``[].baseQty, [].pair`` extra:
  the 2026 mainnet capture carries both; these are older.
* ``rest.positionRisk.v2.hedge.docs`` ``[].adlQuantile, [].isolated, [].breakEvenPrice,
  [].isolatedWallet, [].notional`` extra: an old documentation example; the 2026 mainnet
  captures of v2 carry all five.
* ``rest.exchangeInfo.trimmed`` ``symbols[].filters[MAX_NUM_ALGO_ORDERS]*,
  symbols[].settlePlan`` missing: a 2022 capture; the filter was removed on 2025-12-29 and the
  2026 live capture has no ``settlePlan``.
* ``rest.exchangeInfo.trimmed`` ``symbols[].filters[POSITION_RISK_CONTROL]*,
  symbols[].maxMoveOrderLimit, symbols[].permissionSets*`` extra: the 2026 live capture has
  them; the 2022 one predates them.
* ``rest.exchangeInfo.BTCUSDT.live2026`` ``assets*`` extra: the report this capture was rebuilt
  from did not show ``assets`` verbatim, so the rebuild left it out; the exchange sends it (2022
  capture, docs) and clients read it (ccxt, NautilusTrader).
* ``rest.algoOrder.new.rest.docs`` ``activatePrice, callbackRate`` missing: an older docs
  example (2025-06); the WS API example (2025-11) and the live list capture (2025-12) carry
  them on no order but a trailing stop, as the simulator does.
* ``rest.algoOrder.new.rest.docs`` ``icebergQuantity`` extra: the same older example; the
  newer example and the live capture carry ``"icebergQuantity": null``.
* ``rest.algoOrder.open.um_docs`` ``tpTriggerPrice, tpPrice, slTriggerPrice, slPrice`` missing:
  a portfolio-margin docs page; the live USDⓈ-M capture of the same list has none of them.
* ``otu.*.2022, otu.*.2024, otu.*.2025, otu.AMENDMENT.BTCUSDT.2026`` ``o.er`` extra: the expire
  reason was added in 2025-10 (SDK 2.0.0); the 2026 captures carry it on every event.
* ``otu.*.2022`` ``o.V, o.pm, o.gtd, o.N, o.n`` extra: 2022 predates STP, price match and GTD
  (2023); then a NEW event carried no commission fields, every capture since 2024 has
  ``"n": "0"`` with its asset.
* ``otu.AMENDMENT.BTCUSDT.2026`` ``o.N, o.n, o.si, o.ss`` extra: a docs-derived test fixture,
  not a capture; the 2024-2026 captures of every other execution type carry all four.
* ``otu.*stop*.2021, otu.NEW.trailing.docs`` ``-`` unserved: stops and trailing stops held by
  the matching engine (re-emitted as MARKET on trigger); since 2025-12-09 they live in the algo
  service and only their triggered MARKET/LIMIT order reaches the matching engine.
* ``au.ORDER.ETHBUSD.2022, au.ORDER.isolated.TRXUSDT.2021`` ``a.P[].bep`` extra: the break-even
  price was added later; every capture since 2024 carries it.
* ``au.ORDER.hedge.docs`` ``a.P[].ma`` extra: the docs example lacks the margin asset that
  every capture, 2021 to 2026, carries.
* ``algo.*.DOGEUSDT.2025, algo.NEW.docs`` ``o.ia`` extra: ``ia`` appeared in 2026-08 (change log
  2026-08-07); the 2026 live capture carries it on a STOP_MARKET.
* ``algo.NEW.docs`` ``o.act, o.ap, o.aq, o.rm`` missing: the docs example shows trigger-time
  fields and a reject message on a NEW event; the live NEW and TRIGGERING captures (2025, 2026)
  carry none of them until the order is in the matching engine.
* ``lke.2022`` ``listenKey`` extra: the 2022 capture predates the field the docs now show.
* ``lke.docs.string_E`` ``E`` type: the docs example prints ``E`` as a string; SDK 10.3.0 made
  it an integer, as the 2022 capture and every other event have it.
* ``mc.docs`` ``-`` unserved: no liquidation engine, so no margin call.
* ``md.bookTicker.XRPUSDT.2025`` ``data.ps, data.st`` extra: added with the CM-UM integration
  (2026-06-30); the 2026 capture carries both.
* ``md.aggTrade.docs`` ``nq`` extra: ``nq`` exists since 2025-12-31; the 2026 capture has it.
* ``md.markPriceUpdate.docs`` ``ap`` extra: the moving-average mark exists since 2026-03; the
  2026 capture has it.
"""
