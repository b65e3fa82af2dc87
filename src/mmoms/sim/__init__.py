"""A Binance USDⓈ-M futures compatible exchange simulator.

It speaks the real wire protocol (REST, user-data WebSocket) so third-party clients work against
it unchanged. It imports nothing from :mod:`mmoms.venues` (the gateway's codec, signing or error
tables): the two sides of the wire are written separately so that one misunderstanding of the API
cannot hide in both. It may import only from :mod:`mmoms.sim` itself.
"""
