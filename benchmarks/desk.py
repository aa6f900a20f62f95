"""Web desk benchmark: queue, patient and figures pages at clinic scale, and their query plans.

Plants a SQLite file (through SQLAlchemy Core, in bulk) with N patients in recovery or past
it, their sessions and check-ins (sent, answered or not), M chat messages spread over twelve
weeks, reports (some open) with their audit trails, then serves the desk in-process and times
each page (server time: request in, full HTML out, through the real app) with a signed-in
staff member. It prints p50 / p95 per page for a baseline of a tenth of the size and for the
full size (same run, same machine load), their ratio, and the query plan of every statement a
page runs (SQLite's EXPLAIN QUERY PLAN, PostgreSQL's EXPLAIN), flagging a full scan of a big
table. "figures" is the page as staff see it (finished weeks from the desk's 10-minute cache,
the current week live); "figures-cold" empties the cache before every request.

    python benchmarks/desk.py                  # 10,000 patients, 200,000 messages, SQLite
    python benchmarks/desk.py --patients 2000 --messages 40000 --rounds 20
    python benchmarks/desk.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test
      (PostgreSQL: planted in a fresh schema, dropped afterwards)
Target: p95 under 150 ms for each page at 10,000 patients and 200,000 messages. Times are
printed, not asserted (they depend on the machine); the plans are asserted: the run fails
(exit status 1) if a page's statement reads a big table (10,000 rows or more) in full.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, insert, text

from bot.config import load_settings
from bot.web.services import build_desk_services
from storage import Database
from storage.clock import ManualClock
from storage.models import (
    CheckIn,
    Message,
    Patient,
    Report,
    ReportActionRow,
    ReportPhoto,
    TreatmentSession,
)

TOKEN = "123456:BENCH-desk-token"
STAFF = 9001
NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
BIG = 10_000  # rows: a full scan of a table this big is a missing index
STEPS = [("day1", 1, ["Fine", "Red and tight", "Something's wrong"]),
         ("day2", 2, ["Better", "About the same", "Worse / blisters"]),
         ("day3", 3, ["No, all fine", "Yes, one of those"]),
         ("day7", 7, ["Settled", "Not quite"]),
         ("day14", 14, ["Looks good", "I've noticed something"])]
PLANTED = ("patients", "treatment_sessions", "checkins", "messages", "reports", "report_actions",
           "report_photos")
QUESTIONS = ["can i wear makeup", "is gua sha ok", "when can i exfoliate", "can i swim",
             "do you do gift vouchers", "is retinol ok", "can i go to the gym", "how long red"]


async def plant(db: Database, patients: int, messages: int, seed: int = 7) -> list[int]:
    """Fill the database; returns the patient ids."""
    rng = random.Random(seed)
    at = NOW - dt.timedelta(days=1)
    async with db.engine.begin() as conn:
        await conn.execute(insert(Patient), [
            {"id": i, "telegram_id": 1_000_000 + i, "chat_id": 1_000_000 + i,
             "name": f"Patient {i:05d} {rng.choice(['Smith', 'Jones', 'Khan', 'Lee'])}",
             "consent_at": at, "active": True, "checkins_paused": False, "created_at": at}
            for i in range(1, patients + 1)])
        sessions, checkins = [], []
        for i in range(1, patients + 1):
            days_ago = rng.randint(0, 84)
            date = (NOW - dt.timedelta(days=days_ago)).date()
            created = NOW - dt.timedelta(days=days_ago, hours=2)
            sessions.append({"id": i, "patient_id": i, "session_date": date, "source": "staff",
                             "created_at": created})
            for step, day, labels in STEPS:
                due = created + dt.timedelta(days=day, hours=8)
                sent = due <= NOW
                answer = rng.choice([*labels, None, None]) if sent else None
                checkins.append({
                    "session_id": i, "patient_id": i, "step": step, "day_offset": day,
                    "local_date": date + dt.timedelta(days=day), "tz": "Europe/London",
                    "due_at": due, "deliver_until": due + dt.timedelta(hours=12),
                    "status": "sent" if sent else "pending", "attempts": 1 if sent else 0,
                    "sent_at": due if sent else None, "answer": answer,
                    "answered_at": due + dt.timedelta(minutes=30) if answer else None,
                    "created_at": created, "updated_at": created})
        await conn.execute(insert(TreatmentSession), sessions)
        for start in range(0, len(checkins), 20_000):
            await conn.execute(insert(CheckIn), checkins[start:start + 20_000])
        rows = []
        for n in range(messages):
            patient = rng.randint(1, patients)
            when = NOW - dt.timedelta(minutes=rng.randint(1, 84 * 24 * 60))
            incoming = n % 2 == 0
            outcome = rng.choice(["answered"] * 7 + ["abstained", "suggested", "smalltalk"])
            rows.append({"patient_id": patient, "direction": "in" if incoming else "out",
                         "text": rng.choice(QUESTIONS) if incoming else "an answer",
                         "outcome": outcome if incoming else None, "created_at": when})
            if len(rows) == 20_000:
                await conn.execute(insert(Message), rows)
                rows = []
        if rows:
            await conn.execute(insert(Message), rows)
        reports, actions, photos = [], [], []
        for r in range(1, patients // 5 + 1):
            patient = rng.randint(1, patients)
            created = NOW - dt.timedelta(minutes=rng.randint(5, 84 * 24 * 60))
            status = "open" if r % 50 == 0 else "resolved"
            reports.append({"id": r, "patient_id": patient, "session_id": patient,
                            "kind": "triage", "status": status,
                            "urgency": rng.choice(["urgent", "emergency", None]), "day": 2,
                            "text": "swollen and hot <b>cheek</b>", "created_at": created,
                            "taken_by": STAFF if status == "resolved" else None,
                            "resolved_by": STAFF if status == "resolved" else None,
                            "resolved_at": created + dt.timedelta(hours=2)
                            if status == "resolved" else None})
            if status == "resolved":
                actions += [{"report_id": r, "actor_telegram_id": STAFF, "action": a,
                             "note": "ok", "created_at": created + dt.timedelta(minutes=m)}
                            for a, m in (("taken", rng.randint(1, 90)), ("replied", 95),
                                         ("resolved", 120))]
            photos.append({"report_id": r, "file_id": f"AgAC{r}", "created_at": created})
        await conn.execute(insert(Report), reports)
        await conn.execute(insert(ReportActionRow), actions)
        await conn.execute(insert(ReportPhoto), photos)
    if db.engine.dialect.name == "postgresql":  # statistics and the visibility map, as
        async with db.engine.connect() as conn:  # autovacuum keeps them in a live database
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("VACUUM ANALYZE " + ", ".join(PLANTED)))
    else:
        async with db.engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
    return list(range(1, patients + 1))


class Statements:
    """Collects the SQL a page runs (for EXPLAIN QUERY PLAN)."""

    def __init__(self, db: Database) -> None:
        self.seen: list[tuple[str, Any]] = []
        self.on = False
        event.listen(db.engine.sync_engine, "before_cursor_execute", self._record)

    def _record(self, conn: Any, cursor: Any, statement: str, parameters: Any,
                context: Any, executemany: bool) -> None:
        if self.on and statement.lstrip().upper().startswith("SELECT"):
            self.seen.append((statement, parameters))


async def plans(db: Database, statements: Sequence[tuple[str, Any]]) -> tuple[list[str], int]:
    """The plan of each statement, one line per step, full scans marked; and how many full
    scans of big tables (`BIG` rows or more) there were. A full scan of a smaller table is
    shown but allowed: PostgreSQL rightly reads 2,000 reports in one go when the twelve weeks
    of figures cover nearly all of them."""
    postgres = db.engine.dialect.name == "postgresql"
    lines, full_scans = [], 0
    async with db.engine.connect() as conn:
        sizes = {table: int((await conn.exec_driver_sql(f"SELECT count(*) FROM {table}"))
                            .scalar_one()) for table in PLANTED}
        for statement, parameters in statements:
            result = await conn.exec_driver_sql(
                ("EXPLAIN " if postgres else "EXPLAIN QUERY PLAN ") + statement,
                tuple(parameters or ()))
            lines.append("  " + " ".join(statement.split())[:120])
            for row in result:
                detail = str(row[-1])
                if postgres:
                    step = detail.strip().removeprefix("->").strip()
                    table = step.removeprefix("Seq Scan on ").split(" ")[0]
                    full = step.startswith("Seq Scan on ")
                else:
                    table = detail.removeprefix("SCAN ").split(" ")[0]
                    full = detail.startswith("SCAN ") and "INDEX" not in detail
                rows = sizes.get(table, 0)
                big = full and rows >= BIG
                full_scans += big
                note = ("   <-- full scan of a big table" if big else
                        f"   (full scan of {rows:,} rows)" if full and table in sizes else "")
                lines.append(f"      {detail}{note}")
    return lines, full_scans


async def open_database(url: str | None, folder: Path, patients: int
                        ) -> tuple[Database, str, Any]:
    """A fresh database: a SQLite file in `folder`, or a new schema in PostgreSQL at `url`;
    and what drops the schema afterwards."""
    if url is None:
        url = f"sqlite+aiosqlite:///{folder / f'desk-{patients}.db'}"
        return await Database.connect(url), url, None
    import asyncpg
    from sqlalchemy.engine import make_url

    parts = make_url(url)
    admin = await asyncpg.connect(host=parts.host, port=parts.port or 5432, user=parts.username,
                                  password=parts.password, database=parts.database)
    schema = f"aftercare_bench_desk_{patients}_{random.randrange(16**6):06x}"
    await admin.execute(f'CREATE SCHEMA "{schema}"')

    async def drop() -> None:
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()

    scoped = f"{url}?search_path={schema}"
    return await Database.connect(scoped), scoped, drop


@dataclass(frozen=True)
class Timing:
    """A page's server time in ms: wall clock (what staff wait, including waiting for a busy
    CPU) and the process's CPU time (the page's own work, robust to other load)."""

    p50: float
    p95: float
    cpu50: float
    cpu95: float


def pct(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


async def measure(patients: int, messages: int, rounds: int, folder: Path,
                  show_plans: bool, database_url: str | None = None
                  ) -> tuple[dict[str, Timing], int]:
    """p50 / p95 per page; and the number of full scans of big tables in the pages' plans."""
    import httpx

    from bot.web.app import create_app, freeze_heap
    from bot.web.auth import sign_login

    db, url, drop = await open_database(database_url, folder, patients)
    started = time.perf_counter()
    ids = await plant(db, patients, messages)
    print(f"\n{patients:,} patients, {messages:,} messages ({db.engine.dialect.name}): "
          f"planted in {time.perf_counter() - started:.1f} s")
    settings = load_settings(None, TELEGRAM_BOT_TOKEN=TOKEN, AFTERCARE_STAFF_IDS=str(STAFF),
                             AFTERCARE_STAFF_CHAT_ID="-100123", AFTERCARE_DATABASE_URL=url,
                             AFTERCARE_TIMEZONE="Europe/London")
    services = build_desk_services(settings, db, clock=ManualClock(NOW))
    statements = Statements(db)
    app = create_app(services)
    freeze_heap()  # as `aftercare desk` does before it serves (bot/web/serve.py)
    transport = httpx.ASGITransport(app=app)
    results: dict[str, Timing] = {}
    full_scans = 0
    rng = random.Random(3)
    async with httpx.AsyncClient(transport=transport, base_url="http://desk") as http:
        await http.get("/auth/telegram", params=sign_login(TOKEN, STAFF, "Bench", NOW))
        def cold() -> str:
            services.figures.clear()
            return "/figures"

        pages = {"queue": lambda: "/queue", "patients": lambda: "/patients",
                 "patient": lambda: f"/patients/{rng.choice(ids)}",
                 "figures": lambda: "/figures",  # finished weeks from the 10-minute cache
                 "figures-cold": cold}
        for name, path in pages.items():
            assert (await http.get(path())).status_code == 200  # warm
            times, cpu = [], []
            for _ in range(rounds):
                target = path()
                begin, begin_cpu = time.perf_counter(), time.process_time()
                response = await http.get(target)
                times.append((time.perf_counter() - begin) * 1000)
                cpu.append((time.process_time() - begin_cpu) * 1000)
                assert response.status_code == 200, response.text[:300]
            results[name] = Timing(statistics.median(times), pct(times, 0.95),
                                   statistics.median(cpu), pct(cpu, 0.95))
            t = results[name]
            print(f"  {name:12s} p50 {t.p50:7.1f} ms   p95 {t.p95:7.1f} ms   "
                  f"(CPU p50 {t.cpu50:6.1f} ms, p95 {t.cpu95:6.1f} ms)")
            if show_plans:
                statements.seen.clear()
                statements.on = True
                await http.get(path())
                statements.on = False
                unique = list({s: p for s, p in statements.seen}.items())
                lines, scans = await plans(db, unique)
                full_scans += scans
                for line in lines:
                    print(line)
    await db.close()
    if drop is not None:
        await drop()
    return results, full_scans


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--database-url", default=None,
                        help="PostgreSQL URL (default: SQLite files in a temporary folder)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="aftercare-desk-bench-") as folder:
        base, _ = await measure(args.patients // 10, args.messages // 10, args.rounds,
                                Path(folder), show_plans=False, database_url=args.database_url)
        full, full_scans = await measure(args.patients, args.messages, args.rounds,
                                         Path(folder), show_plans=True,
                                         database_url=args.database_url)
    print(f"\np95 at {args.patients:,} patients / {args.messages:,} messages against a tenth "
          "of that (same run):")
    for name, t in full.items():
        b = base[name]
        verdict = "under" if t.p95 < 150 else "OVER"
        print(f"  {name:12s} p95 {t.p95:7.1f} ms ({verdict} the 150 ms target), "
              f"{t.p95 / b.p95:4.1f}x the baseline's {b.p95:.1f} ms; CPU p95 {t.cpu95:6.1f} ms, "
              f"{t.cpu95 / b.cpu95:4.1f}x the baseline's {b.cpu95:.1f} ms")
    print(f"\nfull scans of big tables in the pages' plans: {full_scans}")
    if full_scans:
        sys.exit(1)


if __name__ == "__main__":
    asyncio.run(main())
