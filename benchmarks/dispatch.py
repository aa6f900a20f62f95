"""Check-in dispatch benchmark: throughput against Telegram's limit, then claim cost at scale.

Part 1 plants N check-ins all due now (SQLite file), starts the fake Bot API server enforcing
30 messages/s overall and 1/s per chat, and lets the real dispatcher send them through a real
``telegram.Bot``. It prints messages per second as a ratio of the limit (target >= 0.95),
lost, duplicates and how 429s were handled.

Part 2 grows an SQLite file to 10k, 100k and 1M check-in rows (100,000 patients) and prints
the start-up time, peak memory and the time to claim one batch of due rows at each size.

    python benchmarks/dispatch.py              # 10,000 check-ins (about 5.5 minutes) + 1M rows
    python benchmarks/dispatch.py --quick      # 600 check-ins + up to 100k rows
    python benchmarks/dispatch.py --count 3000 --scale-rows 0
    python benchmarks/dispatch.py --count 600 --scale-rows 0 \
        --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test   # + 1 and 2 replicas
Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import resource
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import telegram
from telegram.request import HTTPXRequest

from bot.telegram.sender import TelegramSender
from scheduler.careplan import load_careplan
from scheduler.dispatcher import Dispatcher, DispatcherConfig
from scheduler.manager import CheckinManager
from scheduler.sql import SqlConnector, SqlPlanStore
from storage.db import Database
from tests.fake_telegram import FakeTelegram

TOKEN = "123456:BENCH-token"
LIMIT = 30


def _ts(value: datetime) -> str:
    """A UTC datetime as SQLAlchemy stores it in SQLite."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def plant(path: Path, patients: range, rows_per_patient: int, due: datetime,
          due_fraction: float, steps: list[str]) -> None:
    """Insert patients, one session each, and `rows_per_patient` check-ins (raw sqlite3)."""
    conn = sqlite3.connect(path)
    now = _ts(due)
    with conn:
        conn.executemany(
            "INSERT INTO patients (id, telegram_id, chat_id, name, timezone, consent_at, active,"
            " checkins_paused, created_at) VALUES (?, ?, ?, ?, 'Europe/London', ?, 1, 0, ?)",
            ((p, p, p, f"P{p}", now, now) for p in patients))
        conn.executemany(
            "INSERT INTO treatment_sessions (id, patient_id, session_date, source, created_at)"
            " VALUES (?, ?, ?, 'staff', ?)",
            ((p, p, due.date().isoformat(), now) for p in patients))
        every = max(1, round(1 / due_fraction)) if due_fraction else 0

        def rows() -> Iterator[tuple[object, ...]]:
            for p in patients:
                for k in range(rows_per_patient):
                    is_due = every and (p * rows_per_patient + k) % every == 0
                    at = due - timedelta(minutes=1) if is_due else due + timedelta(days=k + 1)
                    yield (p, p, steps[k], k + 1, at.date().isoformat(), _ts(at),
                           _ts(at + timedelta(hours=10)), now, now)

        conn.executemany(
            "INSERT INTO checkins (session_id, patient_id, step, day_offset, local_date, tz,"
            " due_at, deliver_until, status, attempts, created_at, updated_at) VALUES"
            " (?, ?, ?, ?, ?, 'Europe/London', ?, ?, 'pending', 0, ?, ?)", rows())
    conn.close()


async def throughput(count: int, workdir: Path) -> None:
    """Part 1: `count` check-ins due at once through the rate-limited fake server."""
    url = f"sqlite+aiosqlite:///{workdir / 'throughput.db'}"
    db = await Database.connect(url)
    now = datetime.now(UTC)
    await asyncio.to_thread(plant, workdir / "throughput.db", range(1, count + 1), 1, now, 1.0,
                            ["day1"])
    fake = FakeTelegram()
    await fake.start()
    fake.rate_limit(LIMIT, 1)
    request = HTTPXRequest(connection_pool_size=64, read_timeout=10)
    async with telegram.Bot(TOKEN, base_url=fake.base_url, request=request) as bot:
        dispatcher = Dispatcher(SqlConnector(db.sessions), TelegramSender(bot), load_careplan(),
                                config=DispatcherConfig(rate_per_second=LIMIT))
        await dispatcher.start()
        print(f"throughput: {count} check-ins due at once, fake server enforcing {LIMIT}/s "
              "overall and 1/s per chat")
        start = time.monotonic()
        while (await dispatcher.tick()).claimed:
            pass
        elapsed = time.monotonic() - start
    delivered = Counter(m["chat_id"] for m in fake.sent_messages())
    rate = sum(delivered.values()) / elapsed
    totals = dispatcher.totals
    print(f"  sent {sum(delivered.values())} in {elapsed:.1f} s = {rate:.2f} msg/s = "
          f"{rate / LIMIT:.3f} of the limit (target >= 0.95)")
    print(f"  lost = {count - len(delivered)}, duplicates = "
          f"{sum(delivered.values()) - len(delivered)}")
    print(f"  429s answered by the server: {fake.rate_limited_count}; the dispatcher paused "
          f"all sending {totals.rate_limited} time(s) for {totals.retry_after_total:.0f} s in "
          f"total and re-queued {totals.retried} row(s) without counting an attempt")
    await fake.stop()
    await db.close()


async def _claim_time(db: Database, now: datetime) -> float:
    connector = SqlConnector(db.sessions)
    start = time.perf_counter()
    rows = await connector.claim_due(now, 30, timedelta(minutes=2), "bench")
    elapsed = time.perf_counter() - start
    await connector.release_all_claims(now)
    assert rows, "no due rows planted"
    return elapsed


async def scale(max_rows: int, workdir: Path) -> None:
    """Part 2: start-up, memory and claim time as the outbox grows to `max_rows`."""
    path = workdir / "scale.db"
    url = f"sqlite+aiosqlite:///{path}"
    (await Database.connect(url)).engine.sync_engine.dispose()
    steps = [f"s{k}" for k in range(10)]
    now = datetime.now(UTC)
    print(f"scale: SQLite file, 10 check-ins per patient, 1% due now ({path})")
    planted = 0
    for size in (10_000, 100_000, 1_000_000):
        if size > max_rows:
            break
        first, last = planted // 10 + 1, size // 10
        await asyncio.to_thread(plant, path, range(first, last + 1), 10, now, 0.01, steps)
        planted = size
        start = time.perf_counter()
        db = await Database.connect(url)
        manager = CheckinManager(SqlPlanStore(db.sessions), load_careplan())
        await manager.reconcile(now)
        await SqlConnector(db.sessions).release_all_claims(now)
        started = time.perf_counter() - start
        claims = [await _claim_time(db, now) for _ in range(5)]
        await db.close()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"  {size:>9,} rows, {last:>7,} patients: start {started * 1000:7.1f} ms, "
              f"claim 30 due rows {min(claims) * 1000:6.2f} ms (median "
              f"{sorted(claims)[2] * 1000:6.2f} ms), peak memory {peak:.0f} MB")


async def _plant_pg(url: str, count: int, now: datetime) -> None:
    """`count` patients with one session and one check-in due now (PostgreSQL, batched)."""
    from sqlalchemy import insert

    from storage.models import CheckIn, Patient, TreatmentSession

    db = await Database.connect(url)
    async with db.sessions.begin() as s:
        ids = range(1, count + 1)
        await s.execute(insert(Patient), [
            {"id": p, "telegram_id": p, "chat_id": p, "name": f"P{p}", "consent_at": now,
             "created_at": now} for p in ids])
        await s.execute(insert(TreatmentSession), [
            {"id": p, "patient_id": p, "session_date": now.date(), "source": "staff",
             "created_at": now} for p in ids])
        await s.execute(insert(CheckIn), [
            {"session_id": p, "patient_id": p, "step": "day1", "day_offset": 1,
             "local_date": now.date(), "tz": "Europe/London", "due_at": now,
             "deliver_until": now + timedelta(hours=10), "created_at": now, "updated_at": now}
            for p in ids])
    await db.close()


async def postgres_throughput(base_url: str, count: int, replicas: int) -> None:
    """`count` check-ins sent by `replicas` dispatchers (own engine and Bot each) sharing one
    PostgreSQL schema, the SKIP LOCKED claims and the 429 pause, against one rate limit."""
    import secrets

    import asyncpg
    from sqlalchemy.engine import make_url

    from scheduler.pause import SharedPause

    u = make_url(base_url)
    admin = await asyncpg.connect(host=u.host, port=u.port or 5432, user=u.username,
                                  password=u.password, database=u.database)
    schema = f"bench_{secrets.token_hex(4)}"
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{base_url}?search_path={schema}"
    try:
        await _plant_pg(url, count, datetime.now(UTC))
        fake = FakeTelegram()
        await fake.start()
        fake.rate_limit(LIMIT, 1)
        dbs = [await Database.connect(url, migrate=False) for _ in range(replicas)]
        bots = [telegram.Bot(TOKEN, base_url=fake.base_url, request=HTTPXRequest(
            connection_pool_size=64, read_timeout=10)) for _ in range(replicas)]
        dispatchers = []
        for db, bot in zip(dbs, bots, strict=True):
            await bot.initialize()
            d = Dispatcher(SqlConnector(db.sessions), TelegramSender(bot), load_careplan(),
                           config=DispatcherConfig(rate_per_second=LIMIT / replicas),
                           shared_pause=SharedPause(db.sessions), exclusive=False)
            dispatchers.append(d)

        async def drain(d: Dispatcher) -> None:
            while (await d.tick()).claimed:
                pass

        start = time.monotonic()
        await asyncio.gather(*(drain(d) for d in dispatchers))
        elapsed = time.monotonic() - start
        delivered = Counter(m["chat_id"] for m in fake.sent_messages())
        rate = sum(delivered.values()) / elapsed
        print(f"postgresql, {replicas} replica(s) at {LIMIT / replicas:.0f}/s each: sent "
              f"{sum(delivered.values())} of {count} in {elapsed:.1f} s = {rate:.2f} msg/s = "
              f"{rate / LIMIT:.3f} of the limit; lost {count - len(delivered)}, duplicates "
              f"{sum(delivered.values()) - len(delivered)}, 429s {fake.rate_limited_count}")
        for bot in bots:
            await bot.shutdown()
        for db in dbs:
            await db.close()
        await fake.stop()
    finally:
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()


def main(argv: list[str] | None = None) -> None:
    """Parse options and run both parts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=None, help="check-ins for part 1")
    parser.add_argument("--scale-rows", type=int, default=None,
                        help="largest outbox for part 2 (10k, 100k, 1M; 0 skips it)")
    parser.add_argument("--quick", action="store_true", help="600 check-ins, up to 100k rows")
    parser.add_argument("--postgres", metavar="URL", default=None,
                        help="also run part 1 on PostgreSQL with 1 and 2 replicas, e.g. "
                             "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--replicas", default="1,2", help="replica counts for --postgres")
    args = parser.parse_args(argv)
    count = args.count if args.count is not None else (600 if args.quick else 10_000)
    rows = args.scale_rows if args.scale_rows is not None else (
        100_000 if args.quick else 1_000_000)
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        if count:
            asyncio.run(throughput(count, Path(tmp)))
        if count and args.postgres:
            for replicas in (int(n) for n in args.replicas.split(",")):
                asyncio.run(postgres_throughput(args.postgres, count, replicas))
        if rows:
            asyncio.run(scale(rows, Path(tmp)))


if __name__ == "__main__":
    main()
