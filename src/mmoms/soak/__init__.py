"""The chaos soak: ``mmoms soak --duration SECONDS --seed N``.

Three processes. The simulator (:mod:`mmoms.sim`) runs alone, so a ``kill -9`` of the OMS leaves
the exchange — and what our dead process left on it — untouched. The OMS runs in a worker
process (:mod:`.worker`: gateway, SQLite journal, OrderManager, a quoter and a stream of
OCO / OTO / bracket groups, :mod:`.strategy`). The orchestrator (:mod:`.orchestrator`) plays a
seeded plan (:mod:`.schedule`): fault episodes through the simulator's admin endpoints
(:mod:`.chaos`), kill -9 and restart of the worker, checkpoints; then the end (:mod:`.finale`).

Why it is built this way:

* **Exact comparisons need a quiet exchange.** The simulator runs on virtual time and the
  orchestrator pumps that clock along with the wall clock (:class:`.simproc.TimePump`). At a
  checkpoint the pump stops: nothing can fill, trigger or expire, the worker pauses its strategy
  and waits until nothing is in flight, and the OMS's book — taken right after a reconciliation,
  inside the engine's batch listener so it matches a journal seq exactly — must equal the venue
  order by order, in position, fills and fees. Compared while the market moves, "equal" would
  have to mean "close", and a checker that tolerates differences cannot find them.
* **The truth is read where faults cannot reach.** ``POST /admin/read`` (added to the simulator
  for this) runs a signed GET endpoint in-process for the account, with no weight, no clock
  check and no injected fault: a 503 storm must hit the OMS, not the judge.
* **The journal is the record of the run.** Counts (actions, reconciliations, groups, overfills),
  fills trade by trade, the orders created, and the unprotected time of every bracket are read
  from it after the run (:mod:`.audit`) — it survives every kill, the workers' memory does not.
  Replaying it from the first record must reach every state hash a checkpoint pinned.
* **Checks are pure.** :mod:`.invariants` compares plain structs (:mod:`.views`), so each check
  is unit-tested against a crafted breach; the orchestrator only gathers the inputs.
* **Kills land where they hurt.** Besides kill -9 at random moments, half the restarts arm one
  of the engine's failpoints (``MMOMS_FAILPOINTS``): that incarnation kills itself between a
  group follow-up's commit and its send, or between the venue's answer and the journal.
* **One group per symbol.** In one-way mode two brackets on one symbol trade each other's
  reduce-only exits; with one group at a time a group's exposure is the symbol's position, so a
  group can be judged from the venue's executed quantities alone.
* **One seeded RNG decides.** Fault order and parameters, kill moments, downtime and the
  strategy's choices derive from ``--seed``; the OS scheduler still varies the interleaving,
  which is what a soak is for, and the run directory keeps the evidence.
* **The venue is a generous tier.** The quoter runs at ~50 actions/s, more than Binance's
  default limits allow; the simulator is configured with a higher weight budget so that the
  gateway's self-throttling after a 429 burst slows quoting without blinding reconciliation
  (:func:`mmoms.soak.simproc.sim_config_text`).

Exit status: 0 no breach, 1 a breach, 2 usage or setup error.
"""
