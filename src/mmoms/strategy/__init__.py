"""The Strategy API: the base class authors subclass (:mod:`.base`), the host that binds one
strategy to the engine (:mod:`.host`), views (:mod:`.views`), timers (:mod:`.timers`), the market
state (:mod:`.market`), routing of notifications (:mod:`.router`) and loading from a config
entry (:mod:`.loader`). Authors import from :mod:`mmoms` itself.
"""
