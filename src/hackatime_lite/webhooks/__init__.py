"""Outgoing webhooks: a user's (or a team's) HTTP endpoints told when something happened — a goal reached or
missed, a day's summary, the first heartbeat of the day, a mirror paused — signed with HMAC-SHA256.

- signing: the signature scheme (README "Webhooks") and how a receiver checks it;
- payloads: the event bodies (`json`, or Slack's incoming-webhook `{"text", "blocks"}`);
- config: the use cases of every transport (add, list, remove, test-send), with the access rules;
- produce: where events come from (the ingest observer, the mirror's pause, the scheduled goals job);
- delivery: the durable outbox's sender (a singleton job; retries with capped backoff, then `failed`).

This package stays import-light (context.py registers the ingest observer from `produce`).
"""
