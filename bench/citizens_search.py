# Russian spellings of the synthetic names are the subject.
# ruff: noqa: RUF001
"""Name search of the citizens registry on PostgreSQL, as JSON: does it stay an index lookup?

Loads (or reuses) a database of synthetic Patients only (src/shafa/synthetic, 100,000 by
default) through the store, as the FHIR API writes them (rules, folded names, the FIN check),
runs VACUUM ANALYZE, starts `python -m shafa serve` from this checkout, then times searches one
request at a time, the way a registry clerk types them: a Russian spelling of a family name
(thousands of matches: a page of 50 and the total), a family and a given name in Russian, the
same typed without Azerbaijani letters, a begun word through `phonetic`, and the FIN as a
baseline. For each kind it prints PostgreSQL's EXPLAIN (ANALYZE, BUFFERS) of the page query
and whether any plan reads idx_string or idx_token sequentially. Run with --help.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import asyncpg
import httpx
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url

from shafa import registries
from shafa.config import Settings
from shafa.db import migrate
from shafa.db.engine import create_engine, write_transaction
from shafa.fhir import search, store
from shafa.synthetic.clinical import FIN_SYSTEM, generate

# How Russian records write the synthetic surnames and men's names (Soviet-era spellings).
RUSSIAN = {
    "Əliyev": "Алиев", "Məmmədov": "Мамедов", "Hüseynov": "Гусейнов", "Həsənov": "Гасанов",
    "Quliyev": "Кулиев", "İsmayılov": "Исмаилов", "Abdullayev": "Абдуллаев", "Rzayev": "Рзаев",
    "Kərimov": "Керимов", "Nəsirov": "Насиров", "Orucov": "Оруджев", "Süleymanov": "Сулейманов",
    "Cəfərov": "Джафаров", "Əhmədov": "Ахмедов", "Bağırov": "Багиров", "Qasımov": "Гасымов",
    "Mustafayev": "Мустафаев", "Vəliyev": "Велиев", "Zeynalov": "Зейналов", "Səfərov": "Сафаров",
    "Həsənli": "Гасанлы", "Əlizadə": "Ализаде", "Məmmədli": "Мамедли", "Nağıyev": "Нагиев",
    "Sadıqov": "Садыков", "Babayev": "Бабаев", "Hacıyev": "Гаджиев", "İbrahimov": "Ибрагимов",
    "Novruzov": "Новрузов", "Şükürov": "Шукюров",
    "Əli": "Али", "Məhəmməd": "Магаммед", "Hüseyn": "Гусейн", "Rəşad": "Рашад", "Elvin": "Эльвин",
    "Orxan": "Орхан", "Tural": "Турал", "Kamran": "Камран", "Nicat": "Ниджат", "Fərid": "Фарид",
    "Elçin": "Эльчин", "Vüqar": "Вугар", "Ramil": "Рамиль", "Səbuhi": "Сабухи", "Anar": "Анар",
    "İlkin": "Илкин", "Murad": "Мурад", "Rauf": "Рауф", "Şahin": "Шахин", "Emil": "Эмиль",
    "Toğrul": "Тогрул", "Cavid": "Джавид", "Ülvi": "Ульви", "Rövşən": "Ровшан", "Zaur": "Заур",
}  # fmt: skip
ASCII = str.maketrans("əƏıİşŞçÇğĞöÖüÜ", "aAiIsScCgGoOuU")
BATCH = 1000
SEARCHES = ("family_russian", "family_given_russian", "family_given_ascii", "phonetic_begun")
SEARCHES += ("identifier",)


def log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def _dsn(database_url: str, database: str | None = None) -> str:
    url = make_url(database_url)
    if database is not None:
        url = url.set(database=database)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def _patients_stored(database_url: str) -> int | None:
    try:
        connection = await asyncpg.connect(_dsn(database_url))
    except asyncpg.InvalidCatalogNameError:
        return None
    try:
        query = "SELECT count(*) FROM resources WHERE res_type = 'Patient' AND NOT deleted"
        return int(await connection.fetchval(query))
    except asyncpg.UndefinedTableError:
        return None
    finally:
        await connection.close()


async def _recreate(database_url: str) -> None:
    connection = await asyncpg.connect(_dsn(database_url, "postgres"))
    try:
        name = make_url(database_url).database
        assert name is not None
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def _load(database_url: str, patients: int) -> dict[str, Any]:
    """The synthetic Patients through the store, a transaction of BATCH at a time."""
    registries.install()
    engine = create_engine(Settings(database_url=database_url))
    started, loaded, batch = time.perf_counter(), 0, []
    try:
        for resource in generate(patients):
            if resource["resourceType"] != "Patient":
                continue
            batch.append(store.Write("Patient", resource["id"], resource, "PUT"))
            if len(batch) == BATCH:
                async with write_transaction(engine) as conn:
                    await store.apply_writes(conn, batch, store.now())
                loaded += len(batch)
                batch = []
                if loaded % 20000 == 0:
                    log(f"{loaded} Patients")
        if batch:
            async with write_transaction(engine) as conn:
                await store.apply_writes(conn, batch, store.now())
            loaded += len(batch)
    finally:
        await engine.dispose()
    seconds = time.perf_counter() - started
    return {"patients": loaded, "seconds": round(seconds, 1), "per_second": round(loaded / seconds)}


async def _vacuum(database_url: str) -> dict[str, Any]:
    connection = await asyncpg.connect(_dsn(database_url))
    try:
        await connection.execute("VACUUM ANALYZE")
        await connection.execute("CHECKPOINT")
        sizes = await connection.fetch(
            "SELECT c.relname, pg_relation_size(c.oid) AS bytes FROM pg_class c "
            "WHERE c.relname IN ('idx_string', 'ix_idx_string_value', 'ix_idx_string_folded', "
            "'uq_idx_token_patient_fin')"
        )
        folded = await connection.fetchval(
            "SELECT count(*) FROM idx_string WHERE folded IS NOT NULL"
        )
        rows = await connection.fetchval("SELECT count(*) FROM idx_string")
    finally:
        await connection.close()
    return {
        "idx_string_rows": rows,
        "folded_rows": folded,
        "sizes_mb": {row["relname"]: round(row["bytes"] / 2**20, 1) for row in sizes},
    }


async def _sample(database_url: str, count: int) -> list[dict]:
    connection = await asyncpg.connect(_dsn(database_url))
    try:
        await connection.execute("SELECT setseed(0.42)")
        rows = await connection.fetch(
            "SELECT content FROM resources WHERE res_type = 'Patient' AND NOT deleted"
            " ORDER BY random() LIMIT $1",
            count,
        )
    finally:
        await connection.close()
    return [json.loads(row["content"]) for row in rows]


def _male(surname: str) -> str:
    """The male form a female surname was made from (synthetic: + "a")."""
    return surname[:-1] if surname.endswith(("ova", "eva")) else surname


def queries(patient: dict) -> dict[str, str]:
    """One search of each kind that must find this Patient."""
    name = patient["name"][0]
    family, given = _male(name["family"]), name["given"][0]
    fin = patient["identifier"][0]["value"]
    russian_family, russian_given = RUSSIAN[family], RUSSIAN.get(given, given)
    return {
        "family_russian": urlencode({"name": russian_family}),
        "family_given_russian": urlencode([("name", russian_family), ("name", russian_given)]),
        "family_given_ascii": urlencode(
            {"family": family.translate(ASCII).lower(), "given": given.translate(ASCII).lower()}
        ),
        "phonetic_begun": urlencode([("phonetic", russian_family[:-1]), ("given", given)]),
        "identifier": urlencode({"identifier": f"{FIN_SYSTEM}|{fin}"}),
    }


def _percentile(ordered: list[float], percent: float) -> float:
    return ordered[min(len(ordered) - 1, round(percent / 100 * (len(ordered) - 1)))]


def time_searches(base: str, sampled: list[dict]) -> dict[str, Any]:
    """Each kind of search for each sampled Patient, one request at a time; each must find it."""
    figures: dict[str, Any] = {}
    with httpx.Client(timeout=60) as client:
        for kind in SEARCHES:
            latencies, totals = [], []
            for patient in sampled:
                query = queries(patient)[kind]
                started = time.perf_counter()
                answer = client.get(f"{base}/Patient?{query}")
                latencies.append(time.perf_counter() - started)
                answer.raise_for_status()
                bundle = answer.json()
                totals.append(bundle["total"])
                ids = {entry["resource"]["id"] for entry in bundle.get("entry", [])}
                if bundle["total"] <= 50 and patient["id"] not in ids:
                    found = bundle["total"]
                    sys.exit(f"{kind}: {query} missed Patient/{patient['id']} ({found} found)")
            latencies.sort()
            figures[kind] = {
                "requests": len(latencies),
                "mean_total": round(sum(totals) / len(totals), 1),
                "p50_ms": round(_percentile(latencies, 50) * 1000, 1),
                "p95_ms": round(_percentile(latencies, 95) * 1000, 1),
                "max_ms": round(latencies[-1] * 1000, 1),
            }
    return figures


async def explain(database_url: str, query: str) -> dict[str, Any]:
    """EXPLAIN (ANALYZE, BUFFERS) of the first page the API reads for a search."""
    registries.install()
    found = search.criteria("Patient", parse_qsl(query))
    statement = search.select_matches("Patient", found).order_by(search.resources.c.pk).limit(51)
    sql = str(
        statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    )
    connection = await asyncpg.connect(_dsn(database_url))
    try:
        await connection.execute("SET jit = off")
        plan = [row[0] for row in await connection.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")]
    finally:
        await connection.close()
    scans = [line for line in plan if "Seq Scan on idx_" in line]
    return {"query": query, "sequential_index_table_scans": scans, "plan": plan}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(database_url: str, port: int, log_path: Path) -> subprocess.Popen:
    """`python -m shafa serve` of this checkout (PYTHONPATH=src), without tokens."""
    env = os.environ | {
        "SHAFA_DATABASE_URL": database_url,
        "SHAFA_FHIR_AUTH_REQUIRED": "false",
        "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src"),
    }
    command = [sys.executable, "-m", "shafa", "serve", "--port", str(port), "--workers", "1"]
    with log_path.open("wb") as output:
        server = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:  # it exited: another server may hold the port
            sys.exit(f"the server stopped: see {log_path}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    sys.exit(f"the server did not start: see {log_path}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--database-url",
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/shafa_bench_citizens",
    )
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=200, help="searches of each kind")
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--reuse", action="store_true", help="keep a database already loaded")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/shafa-bench-citizens"))
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"patients": args.patients}
    if not args.reuse or asyncio.run(_patients_stored(args.database_url)) != args.patients:
        log(f"loading {args.patients} Patients")
        asyncio.run(_recreate(args.database_url))
        migrate.upgrade(args.database_url)
        report["load"] = asyncio.run(_load(args.database_url, args.patients))
    report["tables"] = asyncio.run(_vacuum(args.database_url))
    sampled = asyncio.run(_sample(args.database_url, args.samples))
    random.Random(7).shuffle(sampled)
    port = args.port or _free_port()
    server = start_server(args.database_url, port, args.workdir / "server.log")
    try:
        base = f"http://127.0.0.1:{port}/fhir"
        time_searches(base, sampled[:10])  # warm-up: plans and caches
        report["searches"] = time_searches(base, sampled)
    finally:
        server.terminate()
        server.wait(timeout=30)
    report["explain"] = {
        kind: asyncio.run(explain(args.database_url, queries(sampled[0])[kind]))
        for kind in SEARCHES
    }
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
