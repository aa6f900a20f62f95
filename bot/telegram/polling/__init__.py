"""Long polling with several replicas on one database: one elected leader polls, the others
stand by.

Telegram allows one ``getUpdates`` poller per bot token (a second one gets 409 Conflict), so
with several ``aftercare run`` replicas exactly one polls. The package, by job:

- `lease`: the election (`LeaderElection`) on the ``leader_lease`` row, and who holds it;
- `poller`: the leader's ``getUpdates`` loop (`ConfirmingPoller`), which confirms a batch only
  after handling all of it;
- `fence`: the poll's HTTP client (`LeaseCheckedRequest`), which checks the lease once more
  as the poll is sent, so a leader frozen after its check sends nothing when it wakes;
- `handled`: the leader's record of handled updates (`HandledLog`), so a new leader skips what
  an earlier one handled;
- `failures`: waits between failed polls (`Backoff`) and their log lines;
- `ports`: what the poller needs of its election, its record and the PTB application, and
  what the election and the record keep in the database (`Leases`, `HandledUpdates`);
- `elected`: `elected_polling`, which wires the above for ``aftercare run``, over the lease
  rows and handled updates the composition root built (bot/compose.py `Services.polling`).

In webhook mode every replica serves the updates the load balancer sends it (no election).
"""
