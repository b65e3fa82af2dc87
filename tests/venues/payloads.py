# ruff: noqa: E501  -- verbatim wire payloads keep their lines
"""Payload examples from the research notes (/work/shared/binance-usdm.md), verbatim where the
notes give them verbatim. Section numbers refer to the notes."""

# §3.2 new order response (docs example, SDK >= 14: no avgPrice / cumQuote)
NEW_ORDER = b"""{
 "clientOrderId": "testOrder", "cumQty": "0", "executedQty": "0", "orderId": 22542179,
 "origQty": "10", "price": "0", "reduceOnly": false, "side": "SELL", "positionSide": "SHORT",
 "status": "NEW", "stopPrice": "0", "closePosition": false, "symbol": "BTCUSDT",
 "timeInForce": "GTD", "type": "LIMIT", "origType": "LIMIT", "updateTime": 1566818724722,
 "workingType": "CONTRACT_PRICE", "priceProtect": false, "priceMatch": "NONE",
 "selfTradePreventionMode": "NONE", "goodTillDate": 1693207680000
}"""

# §3.2 a real 2024 response (passivbot#437)
NEW_ORDER_2024 = b"""{"orderId": 1405234856, "symbol": "PHBUSDT", "status": "NEW", "clientOrderId": "shrtnclsa772eeb9868c4dc98a43aab8fa64", "price": "1.1240000", "avgPrice": "0.00", "origQty": "22", "executedQty": "0", "cumQty": "0", "cumQuote": "0.0000000", "timeInForce": "GTX", "type": "LIMIT", "reduceOnly": true, "closePosition": false, "side": "BUY", "positionSide": "SHORT", "stopPrice": "0.0000000", "workingType": "CONTRACT_PRICE", "priceProtect": false, "origType": "LIMIT", "priceMatch": "NONE", "selfTradePreventionMode": "NONE", "goodTillDate": 0, "updateTime": 1709419134696}"""

# §3.3 modify response
MODIFY_ORDER = b"""{
 "orderId": 20072994037, "symbol": "BTCUSDT", "pair": "BTCUSDT", "status": "NEW",
 "clientOrderId": "LJ9R4QZDihCaS8UAOOLpgW", "modifyId": 1, "price": "30005", "origQty": "1",
 "executedQty": "0", "cumQty": "0", "timeInForce": "GTC", "type": "LIMIT", "reduceOnly": false,
 "closePosition": false, "side": "BUY", "positionSide": "LONG", "stopPrice": "0",
 "workingType": "CONTRACT_PRICE", "priceProtect": false, "origType": "LIMIT", "priceMatch": "NONE",
 "selfTradePreventionMode": "NONE", "goodTillDate": 0, "updateTime": 1629182711600
}"""

# §3.4 cancel response
CANCEL_ORDER = b"""{
 "clientOrderId": "myOrder1", "cumQty": "0", "executedQty": "0", "orderId": 283194212, "origQty": "11",
 "price": "0", "reduceOnly": false, "side": "BUY", "positionSide": "SHORT", "status": "CANCELED",
 "stopPrice": "9300", "closePosition": false, "symbol": "BTCUSDT", "timeInForce": "GTC",
 "origType": "TRAILING_STOP_MARKET", "type": "TRAILING_STOP_MARKET", "activatePrice": "9020",
 "priceRate": "0.3", "updateTime": 1571110484038, "workingType": "CONTRACT_PRICE", "priceProtect": false,
 "priceMatch": "NONE", "selfTradePreventionMode": "NONE", "goodTillDate": 0
}"""

CANCEL_ALL = b'{"code": 200, "msg": "The operation of cancel all open order is done."}'
COUNTDOWN = b'{"symbol": "BTCUSDT", "countdownTime": "100000"}'

# §3.5 mixed batch response (passivbot#437; the second item's "..." stands for the order fields)
BATCH_MIXED = b"""[{"code": -5022, "msg": "Due to the order could not be executed as maker, the Post Only order will be rejected. The order will not be recorded in the order history"},
 {"orderId": 1405234856, "symbol": "PHBUSDT", "status": "NEW", "clientOrderId": "shrtnclsa772eeb9868c4dc98a43aab8fa64", "price": "1.1240000", "avgPrice": "0.00", "origQty": "22", "executedQty": "0", "cumQty": "0", "cumQuote": "0.0000000", "timeInForce": "GTX", "type": "LIMIT", "reduceOnly": true, "closePosition": false, "side": "BUY", "positionSide": "SHORT", "stopPrice": "0.0000000", "workingType": "CONTRACT_PRICE", "priceProtect": false, "origType": "LIMIT", "priceMatch": "NONE", "selfTradePreventionMode": "NONE", "goodTillDate": 0, "updateTime": 1709419134696}]"""

# §3.6 query order
QUERY_ORDER = b"""{
 "avgPrice": "0.00000", "clientOrderId": "abc", "cumQuote": "0", "executedQty": "0", "orderId": 1573346959,
 "origQty": "0.40", "origType": "TRAILING_STOP_MARKET", "price": "0", "reduceOnly": false, "side": "BUY",
 "positionSide": "SHORT", "status": "NEW", "stopPrice": "9300", "closePosition": false, "symbol": "BTCUSDT",
 "time": 1579276756075, "timeInForce": "GTC", "type": "TRAILING_STOP_MARKET", "activatePrice": "9020",
 "priceRate": "0.3", "updateTime": 1579276756075, "workingType": "CONTRACT_PRICE", "priceProtect": false,
 "priceMatch": "NONE", "selfTradePreventionMode": "NONE", "goodTillDate": 0
}"""

# §3.6 userTrades
USER_TRADES = b"""[{"buyer": false, "commission": "0.07819010", "commissionAsset": "USDT", "id": 698759, "maker": false,
  "orderId": 25851813, "price": "7819.01", "qty": "0.002", "quoteQty": "15.63802", "baseQty": "0.002",
  "marginAsset": "USDT", "realizedPnl": "-0.91539999", "side": "SELL", "positionSide": "SHORT",
  "symbol": "BTCUSDT", "pair": "BTCUSDT", "time": 1569514978020}]"""

# §3.7 positionRisk v3 and v2
POSITION_RISK_V3 = b"""[{"symbol": "ADAUSDT", "positionSide": "BOTH", "positionAmt": "30", "entryPrice": "0.385",
  "breakEvenPrice": "0.385077", "markPrice": "0.41047590", "unRealizedProfit": "0.76427700",
  "liquidationPrice": "0", "isolatedMargin": "0", "notional": "12.31427700", "marginAsset": "USDT",
  "isolatedWallet": "0", "initialMargin": "0.61571385", "maintMargin": "0.08004280",
  "positionInitialMargin": "0.61571385", "openOrderInitialMargin": "0", "adl": 2, "bidNotional": "0",
  "askNotional": "0", "updateTime": 1720736417660}]"""

POSITION_RISK_V2 = b"""[{"entryPrice": "0.00000", "breakEvenPrice": "0.0", "marginType": "isolated", "isAutoAddMargin": "false",
  "isolatedMargin": "0.00000000", "leverage": "10", "liquidationPrice": "0", "markPrice": "6679.50671178",
  "maxNotionalValue": "20000000", "positionAmt": "0.000", "notional": "0", "isolatedWallet": "0",
  "symbol": "BTCUSDT", "unRealizedProfit": "0.00000000", "positionSide": "BOTH", "updateTime": 1625474304765}]"""

# §3.7 account v3
ACCOUNT_V3 = b"""{
 "totalInitialMargin": "0.00000000", "totalMaintMargin": "0.00000000", "totalWalletBalance": "126.72469206",
 "totalUnrealizedProfit": "0.00000000", "totalMarginBalance": "126.72469206",
 "totalPositionInitialMargin": "0.00000000", "totalOpenOrderInitialMargin": "0.00000000",
 "totalCrossWalletBalance": "126.72469206", "totalCrossUnPnl": "0.00000000",
 "availableBalance": "126.72469206", "maxWithdrawAmount": "126.72469206",
 "assets": [{"asset": "USDT", "walletBalance": "23.72469206", "unrealizedProfit": "0.00000000",
   "marginBalance": "23.72469206", "maintMargin": "0.00000000", "initialMargin": "0.00000000",
   "positionInitialMargin": "0.00000000", "openOrderInitialMargin": "0.00000000",
   "crossWalletBalance": "23.72469206", "crossUnPnl": "0.00000000", "availableBalance": "23.72469206",
   "maxWithdrawAmount": "23.72469206", "updateTime": 1625474304765}],
 "positions": [{"symbol": "BTCUSDT", "positionSide": "BOTH", "positionAmt": "1.000",
   "unrealizedProfit": "0.00000000", "isolatedMargin": "0.00000000", "notional": "0", "isolatedWallet": "0",
   "initialMargin": "0", "maintMargin": "0", "updateTime": 0}]
}"""

# §3.7 balance v3
BALANCE_V3 = b"""[{"accountAlias": "SgsR", "asset": "USDT", "balance": "122607.35137903", "crossWalletBalance": "23.72469206",
  "crossUnPnl": "0.00000000", "availableBalance": "23.72469206", "maxWithdrawAmount": "23.72469206",
  "marginAvailable": true, "updateTime": 1617939110373}]"""

COMMISSION_RATE = b"""{"symbol": "BTCUSDT", "makerCommissionRate": "0.0002",
  "takerCommissionRate": "0.0004", "rpiCommissionRate": "0.00005"}"""
LEVERAGE = b'{"leverage": 21, "maxNotionalValue": "1000000", "symbol": "BTCUSDT"}'
CODE_200 = b'{"code": 200, "msg": "success"}'
POSITION_MODE = b'{"dualSidePosition": true}'
LISTEN_KEY = b'{"listenKey": "pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8a65a1"}'
LISTEN_KEY_PUT = (
    b'{"listenKey": "3HBntNTepshgEdjIwSUIBgB9keLyOCg5qv3n6bYAtktG8ejcaW5HXz9Vx1JgIieg"}'
)
SERVER_TIME = b'{"serverTime": 1499827319559}'

# §3.8 exchangeInfo (official example + the live top-level additions)
EXCHANGE_INFO = b"""{
 "exchangeFilters": [],
 "rateLimits": [
  {"interval": "MINUTE", "intervalNum": 1, "limit": 2400, "rateLimitType": "REQUEST_WEIGHT"},
  {"interval": "MINUTE", "intervalNum": 1, "limit": 1200, "rateLimitType": "ORDERS"}
 ],
 "serverTime": 1565613908500,
 "assets": [
  {"asset": "BUSD", "marginAvailable": true, "autoAssetExchange": 0},
  {"asset": "USDT", "marginAvailable": true, "autoAssetExchange": 0},
  {"asset": "BNB", "marginAvailable": false, "autoAssetExchange": null}
 ],
 "symbols": [{
  "symbol": "BLZUSDT", "pair": "BLZUSDT", "contractType": "PERPETUAL", "deliveryDate": 4133404800000,
  "onboardDate": 1598252400000, "status": "TRADING", "maintMarginPercent": "2.5000",
  "requiredMarginPercent": "5.0000", "baseAsset": "BLZ", "quoteAsset": "USDT", "marginAsset": "USDT",
  "pricePrecision": 5, "quantityPrecision": 0, "baseAssetPrecision": 8, "quotePrecision": 8,
  "underlyingType": "COIN", "underlyingSubType": ["STORAGE"], "settlePlan": 0, "triggerProtect": "0.15",
  "filters": [
   {"filterType": "PRICE_FILTER", "maxPrice": "300", "minPrice": "0.0001", "tickSize": "0.0001"},
   {"filterType": "LOT_SIZE", "maxQty": "10000000", "minQty": "1", "stepSize": "1"},
   {"filterType": "MARKET_LOT_SIZE", "maxQty": "590119", "minQty": "1", "stepSize": "1"},
   {"filterType": "MAX_NUM_ORDERS", "limit": 200},
   {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
   {"filterType": "MIN_NOTIONAL", "notional": "5.0"},
   {"filterType": "PERCENT_PRICE", "multiplierUp": "1.1500", "multiplierDown": "0.8500", "multiplierDecimal": "4"}
  ],
  "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"],
  "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
  "liquidationFee": "0.010000",
  "marketTakeBound": "0.30"
 }],
 "timezone": "UTC"
}"""

# §3.8 live BTCUSDT filters
BTCUSDT_FILTERS = b"""[{"filterType":"PRICE_FILTER","tickSize":"0.10","minPrice":"556.80","maxPrice":"4529764"},
   {"filterType":"LOT_SIZE","stepSize":"0.001","maxQty":"1000","minQty":"0.001"},
   {"filterType":"MARKET_LOT_SIZE","minQty":"0.001","stepSize":"0.001","maxQty":"120"},
   {"filterType":"MAX_NUM_ORDERS","limit":200},
   {"filterType":"MIN_NOTIONAL","notional":"50"},
   {"filterType":"PERCENT_PRICE","multiplierUp":"1.0500","multiplierDown":"0.9500","multiplierDecimal":"4"},
   {"filterType":"POSITION_RISK_CONTROL","positionControlSide":"NONE"}]"""

# §4 algo order response and cancel
ALGO_ORDER = b"""{
 "algoId": 2146760, "clientAlgoId": "6B2I9XVcJpCjqPAJ4YoFX7", "algoType": "CONDITIONAL",
 "orderType": "TAKE_PROFIT", "symbol": "BNBUSDT", "side": "SELL", "positionSide": "BOTH",
 "timeInForce": "GTC", "quantity": "0.01", "algoStatus": "NEW", "triggerPrice": "750.000", "price": "750.000",
 "icebergQuantity": "None", "selfTradePreventionMode": "EXPIRE_MAKER", "workingType": "CONTRACT_PRICE",
 "priceMatch": "NONE", "closePosition": false, "priceProtect": false, "reduceOnly": false,
 "activatePrice": "", "callbackRate": "", "createTime": 1750485492076, "updateTime": 1750485492076,
 "triggerTime": 0, "goodTillDate": 0
}"""
ALGO_CANCEL = b"""{"algoId": 2146760, "clientAlgoId": "6B2I9XVcJpCjqPAJ4YoFX7", "code": "200", "msg": "success"}"""

# §8.3 ORDER_TRADE_UPDATE (official example) and a TRADE capture
ORDER_TRADE_UPDATE_NEW = b"""{
  "e":"ORDER_TRADE_UPDATE", "E":1568879465651, "T":1568879465650,
  "o":{"s":"BTCUSDT", "c":"TEST", "S":"SELL", "o":"TRAILING_STOP_MARKET", "f":"GTC", "q":"0.001",
    "p":"0", "ap":"0", "sp":"7103.04", "x":"NEW", "X":"NEW", "i":8886774, "l":"0", "z":"0", "L":"0",
    "N":"USDT", "n":"0", "T":1568879465650, "t":0, "b":"0", "a":"9.91", "m":false, "R":false,
    "wt":"CONTRACT_PRICE", "ot":"TRAILING_STOP_MARKET", "ps":"LONG", "cp":false, "AP":"7476.89",
    "cr":"5.0", "pP":false, "si":0, "ss":0, "rp":"0", "V":"EXPIRE_TAKER", "pm":"OPPONENT", "gtd":0,
    "er":"0"}
}"""

ORDER_TRADE_UPDATE_TRADE = b"""{"e":"ORDER_TRADE_UPDATE","T":1568879465651,"E":1568879465651,"o":{"s":"BTCUSDT","c":"TEST","S":"BUY","o":"LIMIT","f":"GTC","q":"0.001","p":"7100.50","ap":"7100.50","sp":"0","x":"TRADE","X":"PARTIALLY_FILLED","i":8886774,"l":"0.001","z":"0.001","L":"7100.50","N":"USDT","n":"0.01000000","T":1568879465651,"t":12345678,"b":"0","a":"0","m":true,"R":false,"wt":"CONTRACT_PRICE","ot":"LIMIT","ps":"LONG","cp":false,"AP":"0","cr":"0","pP":false,"si":0,"ss":0,"rp":"12.34","V":"EXPIRE_TAKER"}}"""

# §8.4 TRADE_LITE (official) — and the int64 order id of a real capture
TRADE_LITE = b"""{
  "e":"TRADE_LITE", "E":1721895408092, "T":1721895408214, "s":"BTCUSDT", "q":"0.001", "p":"0",
  "m":false, "c":"z8hcUoOsqEdKMeKPSABslD", "S":"BUY", "L":"64089.20", "l":"0.040", "t":109100866,
  "i":8886774
}"""
BIG_ORDER_ID = 8389765739703625592

# §8.5 ACCOUNT_UPDATE
ACCOUNT_UPDATE = b"""{
  "e": "ACCOUNT_UPDATE", "E": 1564745798939, "T": 1564745798938,
  "a": {
    "m": "ORDER",
    "B": [
      {"a": "USDT", "wb": "122624.12345678", "cw": "100.12345678", "bc": "50.12345678"},
      {"a": "BUSD", "wb": "1.00000000", "cw": "0.00000000", "bc": "-49.12345678"}
    ],
    "P": [
      {"s": "BTCUSDT", "pa": "0", "ep": "0.00000", "bep": "0", "cr": "200", "up": "0", "mt": "isolated", "iw": "0.00000000", "ps": "BOTH"},
      {"s": "BTCUSDT", "pa": "20", "ep": "6563.6", "bep": "6563.559", "cr": "0", "up": "2850.21200", "mt": "isolated", "iw": "13200.70726908", "ps": "LONG"},
      {"s": "BTCUSDT", "pa": "-10", "ep": "6563.8", "bep": "6563.861", "cr": "-45.04000000", "up": "-1423.15600", "mt": "isolated", "iw": "6570.42511771", "ps": "SHORT"}
    ]
  }
}"""

# §8.6 ALGO_UPDATE
ALGO_UPDATE = b"""{
  "e":"ALGO_UPDATE", "T":1750515742297, "E":1750515742303,
  "o":{"caid":"Q5xaq5EGKgXXa0fD7fs0Ip", "aid":2148719, "at":"CONDITIONAL", "o":"TAKE_PROFIT",
    "s":"BNBUSDT", "S":"SELL", "ps":"BOTH", "f":"GTC", "q":"0.01", "X":"CANCELED", "ai":"",
    "ap":"0.00000", "aq":"0.00000", "act":"0", "tp":"750", "p":"750", "V":"EXPIRE_MAKER",
    "wt":"CONTRACT_PRICE", "pm":"NONE", "cp":false, "pP":false, "R":false, "tt":0, "gtd":0,
    "rm":"Reduce Only reject"}
}"""

# §8.7 ACCOUNT_CONFIG_UPDATE, both variants; MARGIN_CALL (shape from the SDK model)
ACCOUNT_CONFIG_LEVERAGE = (
    b'{"e":"ACCOUNT_CONFIG_UPDATE","E":1611646737479,"T":1611646737476,"ac":{"s":"BTCUSDT","l":25}}'
)
ACCOUNT_CONFIG_MULTI_ASSETS = (
    b'{"e":"ACCOUNT_CONFIG_UPDATE","E":1611646737479,"T":1611646737476,"ai":{"j":true}}'
)
MARGIN_CALL = b"""{"e":"MARGIN_CALL","E":1587727187525,"cw":"3.16812045","p":[{"s":"ETHUSDT","ps":"LONG","pa":"1.327","mt":"CROSSED","iw":"0","mp":"187.17127","up":"-1.166074","mm":"1.614445"}]}"""

# §8.1 listenKeyExpired
LISTEN_KEY_EXPIRED = b"""{"e": "listenKeyExpired", "E": 1736996475556, "listenKey": "WsCMN0a4KHUPTQuX6IUnqEZfB1inxmv1qR4kbf1LuEjur5VdbzqvyxqG9TSjVVxv"}"""
LISTEN_KEY_EXPIRED_STR_E = b"""{"e": "listenKeyExpired", "E": "1736996475556", "listenKey": "WsCMN0a4KHUPTQuX6IUnqEZfB1inxmv1qR4kbf1LuEjur5VdbzqvyxqG9TSjVVxv"}"""

# §9 WS API request and envelopes
WS_API_REQUEST = b"""{
  "id": "9ca10e58-7452-467e-9454-f669bb9c764e",
  "method": "order.place",
  "params": {
    "apiKey": "yeqKcXjtA9Eu4Tr3nJk61UJAGzXsEmFqqfVterxpMpR4peNfqE7Zl7oans8Qj089",
    "price": "42088.0", "quantity": "0.1", "recvWindow": 5000, "side": "BUY",
    "signature": "996962a19802b5a09d7bc6ab1524227894533322a2f8a1f8934991689cabf8fe",
    "symbol": "BTCUSDT", "timeInForce": "GTC", "timestamp": 1705311512994, "type": "LIMIT"
  }
}"""
WS_API_ORDER_PLACE = b"""{
 "id": "3f7df6e3-2df4-44b9-9919-d2f38f90a99a",
 "status": 200,
 "result": {
  "orderId": 325078477, "symbol": "BTCUSDT", "status": "NEW", "clientOrderId": "iCXL1BywlBaf2sesNUrVl3",
  "price": "43187.00", "origQty": "0.100", "executedQty": "0.000", "cumQty": "0.000", "timeInForce": "GTC",
  "type": "LIMIT", "reduceOnly": false, "closePosition": false, "side": "BUY", "positionSide": "BOTH",
  "stopPrice": "0.00", "workingType": "CONTRACT_PRICE", "priceProtect": false, "origType": "LIMIT",
  "priceMatch": "NONE", "selfTradePreventionMode": "NONE", "goodTillDate": 0, "updateTime": 1702555534435
 },
 "rateLimits": [
  {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300, "count": 1}
 ]
}"""
WS_API_LISTEN_KEY = b"""{"id":"d3df8a61-98ea-4fe0-8f4e-0fcea5d418b0","status":200,"result":{"listenKey":"xs0mRXdAKlIPDRFrlPcw0qI41Eh3ixNntmymGyhrhgqo7L6FuLaWArTD7RLP"},"rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":2400,"count":2}]}"""
WS_API_ALGO_CANCEL = b"""{"id": "1", "status": 200, "result": {"algoId": 2000000002162519, "clientAlgoId": "rDMG8WSde6LkyMNtk6s825", "code": "200", "msg": "success"}}"""
WS_API_ERROR = b"""{"id": "7", "status": 400, "error": {"code": -2010, "msg": "NEW_ORDER_REJECTED"}, "rateLimits": []}"""
