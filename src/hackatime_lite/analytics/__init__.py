"""Analytics: the DuckDB replica of the store's heartbeats and every coding-time figure (the one duration rule).

Import from the modules; this package re-exports nothing, so importing one light module (timezones, ranges)
does not load DuckDB.
- replica: `Replica` (sync, rebuild, run, health, close), `ReplicaError`, `SyncResult`; its file, copy and
  gap maintenance are replica_file, replica_copy and replica_gaps.
- durations: the one duration rule in SQL (`intervals_cte`), dimensions, `AnalyticsError`.
- queries: every coding-time query (summaries, daily, spans, matrices, all_users; shared parts in
  query_base, breakdowns and windows); catalog: projects and machines without the rule.
- leaderboards, streaks: built by the scheduler from the queries.
- timezones, ranges: local-day windows and named date ranges (no DuckDB).
- oracle: the rule in plain Python, for tests only.
"""
