"""Type-ahead on ICD-10 through HTTP: ValueSet/$expand with a filter, as a diagnosis picker sends
it while a user types, driven by wrk. One JSON report.

Starts `shafa serve` over an embedded SQLite database of its own (the terminology lives in
memory; the database only has to be migrated), checks that the query mix finds what it should,
warms up, then runs wrk with bench/lua/search.lua over the mix: the prefixes a user types on the
way to a word ("d", "di", "dia", "diab"), codes ("J", "J4", "J45", "E11.9"), two-word filters
("diab mell"), misspellings that find nothing ("astm"), half on all of ICD-10 (`?fhir_vs`), half
on the ICD-10 codes valid for a diagnosis, 20 results a page. Tokens are off, as in
fhir_core.py's scenarios. Run `python bench/terminology_expand.py --help`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx

from fhir_core import CpuMeter, base_url, run_wrk, shafa_command, start_server, stop_server
from shafa.terminology import icd10

VALUE_SETS = (f"{icd10.URL}?fhir_vs", "https://fhir.shafa.az/ValueSet/icd-10-diagnosis")
# What users type in a diagnosis field, as whole words; every prefix of each is sent.
TYPED = (
    "diabetes", "J45", "pneumonia", "hypertension", "astma", "asthma", "E11.9", "I10",
    "bronchitis", "gastritis", "fracture", "myocardial", "infarction", "migraine", "otitis",
    "cystitis", "tonsillitis", "anaemia", "hepatitis", "tuberculosis", "K35", "N39.0",
    "influenza", "covid", "pregnancy", "depressive", "anxiety", "angina", "stroke", "sepsis",
    "appendicitis", "cholecystitis", "pyelonephritis", "dermatitis", "epilepsy", "obesity",
)  # fmt: skip
PHRASES = (
    "diab mell", "type 2 diab", "acute bronch", "fract femur", "myocard infarct",
    "essential hyperten", "chronic kidney", "urinary tract infect", "iron defic anaem",
)  # fmt: skip
COUNT = 20


def filters() -> list[str]:
    """Every prefix of at least one character of the typed words, and the phrases."""
    found = [word[:end] for word in TYPED for end in range(1, len(word) + 1)]
    return found + list(PHRASES)


def write_queries(path: Path, samples: int, seed: int) -> list[str]:
    """`samples` $expand paths, relative to the FHIR base, one a line; also returned."""
    rng = random.Random(seed)
    mix = filters()
    lines = [
        "ValueSet/$expand?"
        + urlencode({"url": rng.choice(VALUE_SETS), "filter": rng.choice(mix), "count": COUNT})
        for _ in range(samples)
    ]
    path.write_text("\n".join(lines) + "\n")
    return lines


def check(args: argparse.Namespace, queries: list[str]) -> float:
    """Every distinct filter answers 200; the mean number of matches (expansion.total)."""
    totals = []
    with httpx.Client(base_url=base_url(args), timeout=30) as client:
        for query in sorted(set(queries)):
            response = client.get(query)
            if response.status_code != 200:
                sys.exit(f"{query} answered {response.status_code}: {response.text[:400]}")
            totals.append(response.json()["expansion"]["total"])
        # The mix must search: a code finds itself first.
        first = client.get(
            "ValueSet/$expand", params={"url": VALUE_SETS[0], "filter": "J45", "count": 1}
        ).json()["expansion"]["contains"][0]["code"]
        if first != "J45":
            sys.exit(f"filter=J45 ranked {first} first")
    return sum(totals) / len(totals)


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8767)
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--seconds", type=int, default=20, help="duration of the wrk run")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--threads", type=int, default=1, choices=(1, 2), help="wrk threads")
    parser.add_argument("--samples", type=int, default=5000, help="queries in the mix")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/shafa-bench/terminology"))
    parser.add_argument("--output", type=Path, help="also write the JSON report here")
    return parser.parse_args()


def main() -> None:
    """Migrate, serve, check, warm up, measure, report."""
    args = parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: install it with `apt-get update && apt-get install -y wrk`")
    args.workdir.mkdir(parents=True, exist_ok=True)
    database = args.workdir / "terminology-bench.db"
    database.unlink(missing_ok=True)
    env = dict(os.environ)
    env["SHAFA_DATABASE_URL"] = f"sqlite+aiosqlite:///{database}"
    env["SHAFA_FHIR_AUTH_REQUIRED"] = "false"
    subprocess.run([shafa_command(), "db", "upgrade"], env=env, check=True, capture_output=True)
    queries_path = args.workdir / "queries.txt"
    queries = write_queries(queries_path, args.samples, args.seed)
    report: dict = {
        "dataset_concepts": len(icd10.code_system()),
        "value_sets": list(VALUE_SETS),
        "distinct_filters": len(set(filters())),
        "page_size": COUNT,
        "machine_cores": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "server_workers": args.workers,
        "wrk": {"connections": args.connections, "threads": args.threads, "seconds": args.seconds},
    }
    server = start_server(args, env, args.workdir / "server.log")
    try:
        report["mean_matches"] = round(check(args, queries), 1)
        wrk_env = dict(os.environ) | {
            "SHAFA_BENCH_QUERIES": str(queries_path),
            "SHAFA_BENCH_THREADS": str(args.threads),
        }
        warm = argparse.Namespace(**{**vars(args), "seconds": 3})
        meter = CpuMeter(server.pid, "none")
        run_wrk(warm, "search", wrk_env, meter)  # every worker builds its index on start
        time.sleep(1)
        measured = run_wrk(args, "search", wrk_env, meter)
        measured.pop("db_cpu_ms_per_op")  # no database work: the terminology is in memory
        report["expand"] = measured
    finally:
        stop_server(server)
    text = json.dumps(report, indent=2)
    print(text)
    if args.output:
        args.output.write_text(text + "\n")


if __name__ == "__main__":
    main()
