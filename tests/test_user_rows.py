"""Per-user reads from memory (analytics/user_rows.py) give the SQL path's answers — and the oracle's — after
every kind of change: live and late inserts, deletions, zone and rule changes; an entry is brought forward from
the earliest changed row (not read whole) when syncs only added or re-gapped rows; the cache keeps its row bound.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from hackatime_lite.analytics import oracle, user_rows
from hackatime_lite.analytics.oracle import Beat
from hackatime_lite.analytics.queries import daily_series, summarize
from hackatime_lite.analytics.replica import Replica
from hackatime_lite.config import Settings
from hackatime_lite.store import Store
from tests.analytics_helpers import insert_beats, rule_of

T0 = 1711839600.0  # 2024-03-30 23:00 UTC: Berlin's spring-forward night is inside the data
DIMS = ("project", "language", "editor", "operating_system", "machine", "category", "branch", "dependency")
FILTERS: tuple[dict[str, list[str | None]] | None, ...] = (
    None,
    {"category": ["CODING"]},  # categories match in any case
    {"project": ["alpha", None]},  # None: a missing value
    {"!project": ["beta"], "language": ["Go", "Python"]},
    {"project": []},  # matches nothing
    {"dependency": ["sys", "numpy"]},  # rows with any of them
    {"dependency": [None], "!language": ["Go"]},  # rows without dependencies
)
WINDOWS = ((T0 + 1234.5, T0 + 3 * 86_400 + 777.0), (T0 - 86_400, T0 + 5 * 86_400), (T0 + 5000.0, T0 + 5060.0),
           (T0 + 7200.0, T0 + 7200.0))


def beats(rng: random.Random, count: int, start: float) -> list[Beat]:
    t, out = start, []
    for _ in range(count):
        t += rng.choice([0.0, 30.0, 90.0, 119.0, 120.0, 121.0, 600.0, 3599.0, 3600.0, 5000.0, 20_000.0])
        out.append(Beat(0, 0, round(t, 3), project=rng.choice(["alpha", "beta", None, ""]),
                        language=rng.choice(["Python", "Go"]), editor=rng.choice(["vim", "vscode"]),
                        operating_system="Linux", machine=rng.choice(["m1", None]),
                        category=rng.choice(["coding", "Coding", "browsing"]), branch=rng.choice(["main", None]),
                        dependencies=rng.choice([(), ("os",), ("os", "sys"), ("numpy", "os")]),
                        source=rng.choice(["direct", "direct", "direct", "test"])))
    return out


class World:
    def __init__(self, root: Path) -> None:
        self.settings = Settings(data_dir=str(root))
        self.settings.paths.ensure()
        self.store = Store(self.settings.paths.database)
        self.zones = {self.store.create_user(f"m{i}", timezone=tz).id: tz
                      for i, tz in enumerate(("Europe/Berlin", "Asia/Kathmandu"))}
        self.rules = {user: rule_of(None, None) for user in self.zones}
        self.replica = Replica(self.store, self.settings)
        self.beats: list[Beat] = []

    def insert(self, user_id: int, new: list[Beat]) -> None:
        self.beats += insert_beats(self.store, [Beat(**{**b.__dict__, "user_id": user_id}) for b in new])


# One worker builds the module's world (the tests share it, each starting from whatever the others left).
pytestmark = pytest.mark.xdist_group("user_rows")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    opened = World(tmp_path_factory.mktemp("user-rows"))
    rng = random.Random(5)
    berlin, kathmandu = opened.zones
    opened.insert(berlin, beats(rng, 40, T0))
    opened.insert(kathmandu, beats(rng, 30, T0 + 3600.0))
    yield opened
    opened.replica.close()
    opened.store.close()


def summaries(replica: Replica, user_id: int, tz: str, filters_tried: tuple) -> list[object]:
    out: list[object] = []
    for filters in filters_tried:
        for start, end in WINDOWS:
            s = summarize(replica, user_id, start, end, dimensions=DIMS, filters=filters)
            out.append((filters, start, end, round(s.total_seconds, 6),
                        {d: [(n, round(v, 6)) for n, v in pairs] for d, pairs in s.breakdowns.items()}))
        days = daily_series(replica, user_id, dt.date(2024, 3, 28), dt.date(2024, 4, 8), tz,
                            dimensions=("project", "category", "dependency"), filters=filters)
        out.append((filters, [(d.date, round(d.total_seconds, 6),
                               {k: [(n, round(v, 6)) for n, v in p] for k, p in d.breakdowns.items()})
                              for d in days]))
    return out


def check(world: World, filters_tried: tuple = FILTERS[:1]) -> None:
    """Memory answers equal the DuckDB path's (with each of `filters_tried`), and totals equal the oracle's."""
    replica = world.replica
    ivs = oracle.intervals(world.beats, world.rules)
    for user_id, tz in world.zones.items():
        from_memory = summaries(replica, user_id, tz, filters_tried)
        replica.use_memory = False
        try:
            from_sql = summaries(replica, user_id, tz, filters_tried)
        finally:
            replica.use_memory = True
        assert from_memory == from_sql, user_id
        for start, end in WINDOWS:
            got = summarize(replica, user_id, start, end, dimensions=("project",)).total_seconds
            assert got == pytest.approx(oracle.total(ivs, user_id, start, end, None), abs=1e-6)


def test_memory_reads_follow_every_kind_of_change(world: World) -> None:
    rng = random.Random(6)
    berlin, kathmandu = world.zones
    world.replica.user_memory.clear()
    loads = world.replica.user_memory.loads
    check(world, FILTERS)
    loads = world.replica.user_memory.loads
    assert loads >= 2  # both users read whole

    # Live rows after the newest, then a late batch in the middle: brought forward, not read whole.
    newest = max(b.time for b in world.beats if b.user_id == berlin)
    world.insert(berlin, beats(rng, 5, newest + 10.0))
    check(world)
    world.insert(berlin, beats(rng, 6, T0 + 86_400.0 + 17.0))
    check(world, FILTERS[2:4] + FILTERS[5:])
    assert world.replica.user_memory.refreshes >= 2
    assert world.replica.user_memory.loads == loads

    # Deletions (the newest row too), then zone and rule changes (a users change: read whole again).
    mine = sorted((b for b in world.beats if b.user_id == berlin), key=lambda b: b.time)
    gone = {mine[3].id, mine[len(mine) // 2].id, mine[-1].id}
    world.store.delete_heartbeats(berlin, ids=sorted(gone))
    world.beats = [b for b in world.beats if b.id not in gone]
    check(world)
    world.store.update_user(kathmandu, timezone="America/New_York")
    world.zones[kathmandu] = "America/New_York"
    check(world)
    world.store.update_user(berlin, timeout=600, duration_mode="keystroke")
    world.rules[berlin] = rule_of(600, "keystroke")
    check(world)
    assert world.replica.user_memory.loads > loads
    world.store.update_user(berlin, timeout=None, duration_mode=None)  # as the other tests expect
    world.rules[berlin] = rule_of(None, None)


def test_a_heartbeat_is_counted_by_the_very_next_memory_read(world: World) -> None:
    user_id = next(iter(world.zones))
    start, end = T0 + 100 * 86_400, T0 + 101 * 86_400  # after every row the other tests add
    before = summarize(world.replica, user_id, start, end).total_seconds
    world.insert(user_id, [Beat(0, 0, start + 100.0, project="fresh"), Beat(0, 0, start + 160.0, project="fresh")])
    after = summarize(world.replica, user_id, start, end, dimensions=("project",))
    assert after.total_seconds == pytest.approx(before + 60.0)
    assert ("fresh", pytest.approx(60.0)) in after.breakdowns["project"]


def test_the_cache_keeps_its_row_bound(world: World) -> None:
    replica = world.replica
    users = list(world.zones)
    sizes = {u: replica.user_rows(u, sync=True).rows for u in users}  # type: ignore[union-attr]
    assert all(size > 0 for size in sizes.values())
    bound = replica.user_memory.max_rows
    try:
        replica.user_memory.max_rows = max(sizes.values()) + 1  # room for one user at a time
        for user_id in users:
            assert replica.user_rows(user_id) is not None
            assert replica.user_memory.rows <= replica.user_memory.max_rows
        replica.user_memory.max_rows = min(sizes.values()) - 1  # room for none: the SQL path answers
        replica.user_memory.clear()
        assert replica.user_rows(users[0]) is None
        assert replica.user_memory.rows == 0
        total = summarize(replica, users[0], T0 - 86_400, T0 + 50 * 86_400).total_seconds
        replica.use_memory = False
        assert summarize(replica, users[0], T0 - 86_400, T0 + 50 * 86_400).total_seconds == pytest.approx(total)
    finally:
        replica.use_memory = True
        replica.user_memory.max_rows = bound


def test_rollups_left_pending_by_a_memory_read_are_recomputed_before_any_rollup_read(world: World) -> None:
    """A memory read's sync only notes the rollup days its rows change (rollup_pending, in the file); an all-user
    read recomputes them first, also after the replica is closed and opened again."""
    from hackatime_lite.analytics.queries import daily_totals_all_users

    replica = world.replica
    user_id = next(iter(world.zones))
    day = T0 + 45 * 86_400
    world.insert(user_id, [Beat(0, 0, day + 10.0, project="late"), Beat(0, 0, day + 70.0, project="late")])
    summarize(replica, user_id, day, day + 3600.0)  # from memory: the new rows' rollup days are left pending
    pending = replica.run(lambda c: c.execute("SELECT COUNT(*) FROM rollup_pending").fetchone()[0], sync=False)
    assert pending == 0  # run() recomputed them before its own read
    world.insert(user_id, [Beat(0, 0, day + 100.0, project="late"), Beat(0, 0, day + 130.0, project="late")])
    summarize(replica, user_id, day, day + 3600.0)
    assert replica._read(lambda c: c.execute("SELECT COUNT(*) FROM rollup_pending").fetchone()[0]) > 0
    replica.close()
    world.replica = replica = Replica(world.store, world.settings)  # pending days survive in the file
    ivs = oracle.intervals(world.beats, world.rules)
    first, last = dt.date(2024, 3, 27), dt.date(2024, 5, 20)
    got = {(u, d): s for u, d, s in daily_totals_all_users(replica, first, last)}
    for uid, tz in world.zones.items():
        for date, seconds in oracle.daily(ivs, uid, tz, first, last).items():
            assert got.get((uid, date), 0.0) == pytest.approx(seconds, abs=1e-6), (uid, date)
    assert replica._read(lambda c: c.execute("SELECT COUNT(*) FROM rollup_pending").fetchone()[0]) == 0


def test_a_large_late_batch_is_brought_forward_by_duckdb_numbering(world: World,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """More rows from the floor on than the small-tail bound: numbered by the whole-load statements, combined
    with the kept prefix, still the SQL path's answers (new combos included)."""
    from hackatime_lite.analytics import user_rows

    monkeypatch.setattr(user_rows, "_SMALL_TAIL", 3)
    berlin = next(iter(world.zones))
    check(world)  # entries current
    refreshes, loads = world.replica.user_memory.refreshes, world.replica.user_memory.loads
    late = [Beat(**{**b.__dict__, "project": "late-project"}) for b in beats(random.Random(9), 12, T0 + 2 * 3600.0)]
    world.insert(berlin, late)
    check(world, FILTERS[:1] + FILTERS[5:6])
    assert world.replica.user_memory.refreshes > refreshes
    assert world.replica.user_memory.loads == loads


@pytest.mark.parametrize("max_points", [user_rows.MAX_POINTS, 0])  # exact times; spans around them
def test_changes_far_apart_are_brought_forward_window_by_window(world: World, monkeypatch: pytest.MonkeyPatch,
                                                                max_points: int) -> None:
    """One sync changing a user's rows in several places (live rows, a late batch, rows before the first), and a
    second sync before the read: only those windows are re-read, and the answers stay the SQL path's."""
    monkeypatch.setattr(user_rows, "MAX_POINTS", max_points)
    rng = random.Random(11)
    berlin = next(iter(world.zones))
    check(world)  # entries current
    refreshes, loads = world.replica.user_memory.refreshes, world.replica.user_memory.loads
    newest = max(b.time for b in world.beats if b.user_id == berlin)
    world.insert(berlin, beats(rng, 4, newest + 5.0) + beats(rng, 3, T0 + 2 * 86_400.0 + 11.0)
                 + beats(rng, 2, T0 - 50_000.0))
    world.replica.sync()
    world.insert(berlin, [Beat(**{**b.__dict__, "source": "direct"}) for b in beats(rng, 2, T0 + 3 * 86_400.0 + 7.0)])
    check(world, FILTERS[:1] + FILTERS[5:6])
    assert world.replica.user_memory.refreshes > refreshes
    assert world.replica.user_memory.loads == loads


def test_change_windows_are_the_changed_times_exactly_up_to_a_bound_then_few_and_apart(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(user_rows, "MAX_POINTS", 30)
    rng = random.Random(3)
    coarse = 0
    for _ in range(300):
        times = [rng.choice([T0, T0 + 86_400.0]) + rng.uniform(-5000.0, 5000.0) for _ in range(rng.randint(1, 40))]
        windows = user_rows.change_windows(times)
        assert all(any(low <= t <= high for low, high in windows) for t in times)
        assert all(a[1] < b[0] for a, b in itertools.pairwise(windows))
        if len(set(times)) <= user_rows.MAX_POINTS:  # each time its own window: no row between them re-read
            assert windows == tuple((t, t) for t in sorted(set(times)))
        else:
            coarse += 1
            assert 1 <= len(windows) <= user_rows.MAX_WINDOWS
            if len(windows) < user_rows.MAX_WINDOWS:  # no merging: windows split exactly at the wide gaps
                assert all(b[0] - a[1] > user_rows.WINDOW_SPLIT for a, b in itertools.pairwise(windows))
        merged = user_rows.exact_or_coarse(user_rows.merged_windows(windows + user_rows.change_windows(times[:3])))
        assert all(a[1] < b[0] for a, b in itertools.pairwise(merged))
        assert all(any(low <= t <= high for low, high in merged) for t in times)
    assert 0 < coarse < 300  # both kinds were checked


def test_a_load_reads_its_snapshot_while_syncs_commit(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """A load takes only its version and a DuckDB snapshot under the sync lock, so another thread's write and
    sync commit while it reads (they would wait for it if it held the lock); the load answers exactly its own
    version, and the next read counts the row committed meanwhile."""
    import threading

    from hackatime_lite.analytics import replica as replica_module

    replica = world.replica
    user_id = next(iter(world.zones))
    start, end = T0 + 200 * 86_400, T0 + 201 * 86_400  # after every row the other tests add
    world.insert(user_id, [Beat(0, 0, start + 10.0, project="snap"), Beat(0, 0, start + 70.0, project="snap")])
    replica.sync()
    original = replica_module.load_user_rows
    writers: list[threading.Thread] = []

    def load_while_another_thread_syncs(*args: object, **kwargs: object) -> user_rows.UserRows:
        def write_and_sync() -> None:
            world.insert(user_id, [Beat(0, 0, start + 100.0, project="snap")])
            replica.sync()

        writer = threading.Thread(target=write_and_sync)
        writers.append(writer)
        writer.start()
        writer.join(60)  # a deadline, not a pause: it returns as soon as the sync has committed
        return original(*args, **kwargs)  # type: ignore[arg-type]  # the arguments the replica passed

    monkeypatch.setattr(replica_module, "load_user_rows", load_while_another_thread_syncs)
    entry = replica.user_rows(user_id, sync=False)
    monkeypatch.undo()
    assert len(writers) == 1 and not writers[0].is_alive(), "the sync waited for the load"
    # The version before that sync: the row at +70 s had no successor yet, so it counted nothing.
    assert entry is not None and entry.version.counter == replica._memory_version(user_id).counter - 1
    assert float(entry.time.max()) == start + 10.0
    fresh = replica.user_rows(user_id)
    assert fresh is not None and float(fresh.time.max()) == start + 70.0
    want = oracle.total(oracle.intervals(world.beats, world.rules), user_id, start, end, None)
    assert summarize(replica, user_id, start, end).total_seconds == pytest.approx(want)


def test_many_rows_far_apart_are_numbered_window_by_window(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the small-tail bound, changes in several places far apart (new combos in two of them) are numbered
    by DuckDB one window at a time — the rows between the windows are not read — and the answers stay the SQL
    path's."""
    monkeypatch.setattr(user_rows, "_SMALL_TAIL", 3)
    rng = random.Random(13)
    berlin = next(iter(world.zones))
    check(world)  # entries current
    refreshes, loads = world.replica.user_memory.refreshes, world.replica.user_memory.loads
    early = [Beat(**{**b.__dict__, "project": "early-new"}) for b in beats(rng, 5, T0 - 90_000.0)]
    late = [Beat(**{**b.__dict__, "language": "Zig"}) for b in beats(rng, 6, T0 + 4 * 86_400.0 + 3.0)]
    world.insert(berlin, early + late + beats(rng, 4, T0 + 86_400.0 + 29.0))
    spans: list[tuple[float, float]] = []
    original = user_rows._brought_forward_numbered

    def numbered(*args: object) -> user_rows.UserRows:
        spans.extend(args[-1])  # type: ignore[arg-type]  # the windows it re-reads
        return original(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(user_rows, "_brought_forward_numbered", numbered)
    check(world, FILTERS[:2] + FILTERS[3:4])
    assert world.replica.user_memory.refreshes > refreshes and world.replica.user_memory.loads == loads
    assert len(spans) >= 3 and sum(high - low for low, high in spans) < 86_400  # not the 5-day span between


def test_interleaved_heartbeats_re_read_only_the_rows_they_change(world: World,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Heartbeats arriving among a user's stored rows (an editor's offline queue, or several editors) change the
    new rows and their predecessors only: a refresh re-reads exactly those (not the hour between them), and the
    answers stay the SQL path's and the oracle's, also across several syncs before the read and with a
    duplicate time."""
    berlin = next(iter(world.zones))
    base = T0 + 300 * 86_400  # after every row the other tests add
    dense = [Beat(0, 0, base + 20.0 * i, project="dense", language="Go", source="direct") for i in range(300)]
    world.insert(berlin, dense)
    check(world)  # entries current
    read: list[int] = []
    original = user_rows._tail_pieces

    def counted(*args: object) -> list[list[tuple[object, ...]]] | None:
        pieces = original(*args)  # type: ignore[arg-type]  # the arguments the loader passed
        read.append(-1 if pieces is None else sum(len(piece) for piece in pieces))
        return pieces

    monkeypatch.setattr(user_rows, "_tail_pieces", counted)
    rng = random.Random(17)
    for _ in range(2):  # two syncs before the read: their windows are merged
        late = [Beat(0, 0, base + 20.0 * rng.randrange(1, 299) + rng.choice([5.0, 10.0, 0.0]), project="late",
                     language="Zig", source="direct") for _ in range(6)]
        world.insert(berlin, late)
        world.replica.sync()
    check(world, FILTERS[:2])
    assert read and 0 < read[0] <= 2 * 2 * 6, read  # the new rows and their predecessors, not the 300 between
