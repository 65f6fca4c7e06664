"""The usual sync — new heartbeats, nothing deleted — computes gaps in numpy (replica_copy.append_new_rows):
rows at or after their user's last row from the last rows alone, rows between stored ones from their stored
neighbours, instead of the window over recent rows. Checked against the definition:
after every sync, each stored gap equals stored_gap_sql computed over the replica's whole table, and totals
equal the oracle's."""

from __future__ import annotations

import random

from pytest import approx

from hackatime_lite.analytics import oracle
from hackatime_lite.analytics.durations import DEFAULT_EXCLUDED_SOURCES, MAX_TIMEOUT, stored_gap_sql
from hackatime_lite.analytics.oracle import Beat
from hackatime_lite.analytics.queries import summarize
from hackatime_lite.analytics.replica import Replica
from hackatime_lite.analytics.replica_gaps import NEAR_WINDOW
from hackatime_lite.config import Settings
from hackatime_lite.store import Store
from tests.analytics_helpers import insert_beats

T0 = 1_718_000_000.0
EXCLUDED = sorted(DEFAULT_EXCLUDED_SOURCES)[0]


def _gaps_match_definition(replica: Replica) -> int:
    gap, params = stored_gap_sql()
    rows = replica.run(lambda c: c.execute(
        f"SELECT id, gap, {gap} AS want FROM heartbeats", params).fetchall(), sync=False)
    wrong = [(row_id, got, want) for row_id, got, want in rows if got != want]
    assert not wrong, f"stored gaps differ from stored_gap_sql: {wrong[:5]}"
    return len(rows)


def test_in_order_batches_store_the_gaps_the_window_gives(store: Store, settings: Settings) -> None:
    rng = random.Random(13)
    users = [store.create_user(f"user{i}").id for i in range(3)]
    last = {user: T0 + 1000 * i for i, user in enumerate(users)}
    beats: list[Beat] = []
    with Replica(store, settings) as replica:
        replica.sync()
        for step in range(14):
            if step == 7:  # a newcomer: no last row yet
                users.append(store.create_user("late").id)
                last[users[-1]] = T0 + 5000
                replica.sync()  # the users change goes the general way
            batch = []
            for user in rng.sample(users, rng.randint(1, len(users))):
                for _ in range(rng.randint(1, 6)):
                    # Mostly short steps, some beyond MAX_TIMEOUT, some at the very same time (ties by id).
                    last[user] += rng.choice([0.0, 0.25, 30.0, 61.5, 119.0, MAX_TIMEOUT + 40.0])
                    source = EXCLUDED if rng.random() < 0.15 else "direct"
                    batch.append(Beat(0, user, last[user], project=rng.choice(["a", "b"]), source=source))
            rng.shuffle(batch)  # arrival order within a batch does not matter, only each user's last row
            beats += insert_beats(store, batch)
            before = replica.numpy_syncs
            replica.sync()
            assert replica.numpy_syncs == before + 1
            assert _gaps_match_definition(replica) == len(beats)
        # Interleaved batches (an offline queue, a late batch): rows anywhere in the stream, before its first row,
        # at the same time as stored rows, far past it; only the stored neighbours are read.
        for _ in range(16):
            batch = []
            for user in rng.sample(users, rng.randint(1, len(users))):
                for _ in range(rng.randint(1, 5)):
                    stored_times = [b.time for b in beats if b.user_id == user]
                    far = max(stored_times, default=T0) + MAX_TIMEOUT + 50.0  # its last row gets a far successor
                    at = rng.choice([*stored_times, T0 - 4000.0, last[user] + 1.0, far]) if stored_times else T0
                    source = EXCLUDED if rng.random() < 0.15 else "direct"
                    # Offsets inside and past the first (NEAR_WINDOW) read and past MAX_TIMEOUT: the read widens
                    # when a user's edge row in it is new and their stored neighbour may lie further out.
                    offset = rng.choice([0.0, -0.5, 7.0, -MAX_TIMEOUT - 3.0, 250.0, NEAR_WINDOW + 40.0,
                                         -NEAR_WINDOW - 60.0, 1800.0, -2100.0])
                    batch.append(Beat(0, user, at + offset,
                                      project="late", source=source))
            beats += insert_beats(store, batch)
            before = replica.numpy_syncs
            replica.sync()
            assert replica.numpy_syncs == before + 1
            assert _gaps_match_definition(replica) == len(beats)
        # One user's rows only far past their last row, beside another's interleaved ones: the first user's last
        # row is before the window read for them, and gets its (clamped) gap all the same.
        far_user, other = users[1], users[2]
        far_time = max(b.time for b in beats if b.user_id == far_user) + MAX_TIMEOUT + 10.0
        beats += insert_beats(store, [Beat(0, far_user, far_time), Beat(0, other, T0 - 9000.0)])
        before = replica.numpy_syncs
        replica.sync()
        assert replica.numpy_syncs == before + 1
        assert _gaps_match_definition(replica) == len(beats)
        # Stored neighbours further than the first (NEAR_WINDOW) read but within MAX_TIMEOUT, each batch beside
        # another user's interleaved row (so it is not in order). First a row in the middle of a wide stored gap,
        # followed by a stored row inside the read: its predecessor lies before the read (the read widens).
        wide_user, dense_user, after_user = users[0], users[2], users[3]
        wide_last = max(b.time for b in beats if b.user_id == wide_user)
        dense_last = max(b.time for b in beats if b.user_id == dense_user)
        beats += insert_beats(store, [Beat(0, wide_user, wide_last + 5.0), Beat(0, wide_user, wide_last + 1150.0),
                                      Beat(0, dense_user, dense_last + 10.0), Beat(0, dense_user, dense_last + 20.0)])
        replica.sync()  # in order: the wide gap (1145 s) is stored
        for late in ([Beat(0, wide_user, wide_last + 1000.0), Beat(0, dense_user, dense_last + 15.0)],
                     # Then a row more than NEAR_WINDOW after a user's last row: that row's gap is the real
                     # distance (not the clamp), decided by the first read (the other user's row needs no more).
                     [Beat(0, after_user, max(b.time for b in beats if b.user_id == after_user) + NEAR_WINDOW + 700.0),
                      Beat(0, dense_user, dense_last + 12.0)]):
            beats += insert_beats(store, late)
            before = replica.numpy_syncs
            replica.sync()
            assert replica.numpy_syncs == before + 1
            assert _gaps_match_definition(replica) == len(beats)
        # A deletion takes the general path (staging and a window over the touched rows), with the same result.
        user = users[0]
        gone = [b for b in beats if b.user_id == user][-3:]
        assert store.delete_heartbeats(user, ids=[b.id for b in gone]) == len(gone)
        beats = [b for b in beats if b not in gone]
        before = replica.numpy_syncs
        replica.sync()
        assert replica.numpy_syncs == before
        assert _gaps_match_definition(replica) == len(beats)
        rule = oracle.Rule(float(settings.default_timeout), settings.default_mode)
        ivs = oracle.intervals(beats, dict.fromkeys(users, rule))
        for user in users:
            total = summarize(replica, user, T0 - 86_400, T0 + 10 * 86_400).total_seconds
            assert total == approx(oracle.total(ivs, user, T0 - 86_400, T0 + 10 * 86_400))
