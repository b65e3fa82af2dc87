"""Binance USDⓈ-M futures gateway (incl. the USDC-margined perpetuals).

Pure parts: :mod:`.signing`, :mod:`.errors` (``CODE_TO_ERROR``), :mod:`.endpoints`,
:mod:`.schemas`, :mod:`.codec`, :mod:`.streamcodec`, :mod:`.marketcodec`, :mod:`.ratecontrol`,
:mod:`.timesync`, :mod:`.listenkey`, :mod:`.retry`. Shells: :mod:`.rest`, :mod:`.userstream`,
:mod:`.wsapi` (over the transports of :mod:`mmoms.venues.transport`), composed in
:mod:`.gateway`; the market-data feed :mod:`.marketdata` stands apart from the gateway (public
streams, no keys).

Usage::

    gw = BinanceGateway(BinanceConfig(), Credentials.from_env())
    await gw.start()
    async for message in gw.stream(): ...
"""

from mmoms.venues.binance.config import BinanceConfig, OrderTransport
from mmoms.venues.binance.gateway import BinanceGateway
from mmoms.venues.binance.marketcodec import MarketSubscription, RouteMode
from mmoms.venues.binance.marketdata import BinanceMarketData
from mmoms.venues.binance.signing import Credentials, Ed25519Signer, HmacSigner

__all__ = [
    "BinanceConfig",
    "BinanceGateway",
    "BinanceMarketData",
    "Credentials",
    "Ed25519Signer",
    "HmacSigner",
    "MarketSubscription",
    "OrderTransport",
    "RouteMode",
]
