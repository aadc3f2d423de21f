"""Time search-index extraction on official examples: one JSON line a resource type.

    .venv/bin/python bench/extract_bench.py [--repeat N]

prints {"resource": ..., "params": n, "rows": r, "us_per_extract": x}: n the parameters
indexed for the type, r the rows of the example, x the best of five runs of N extractions in
CPU time (wall time would count the other work of a busy machine). The extractors are compiled
before timing, as a running server has them.
"""

import argparse
import functools
import json
import time
import timeit
from decimal import Decimal
from pathlib import Path

from shafa.fhir.indexing import _plan, extract

EXAMPLES = Path(__file__).resolve().parent.parent / "tests" / "data" / "fhir-examples"
BENCHMARKED = (
    "patient-example.json",
    "observation-example.json",
    "encounter-example.json",
    "medicationrequest0301.json",
)


def _indexed_param_count(resource_type: str) -> int:
    plan = _plan(resource_type)
    return len(plan.always) + len(plan.by_any_key) + sum(map(len, plan.by_key.values()))


def main() -> None:
    """Print the extraction time of each benchmarked example."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20_000, help="extractions a run")
    repeat = parser.parse_args().repeat
    for name in BENCHMARKED:
        resource = json.loads((EXAMPLES / name).read_text(), parse_float=Decimal)
        rows = extract(resource)
        row_count = sum(len(getattr(rows, kind)) for kind in rows.__slots__)
        run = functools.partial(extract, resource)
        best = min(timeit.repeat(run, number=repeat, repeat=5, timer=time.process_time))
        result = {
            "resource": resource["resourceType"],
            "params": _indexed_param_count(resource["resourceType"]),
            "rows": row_count,
            "us_per_extract": round(best / repeat * 1e6, 1),
        }
        print(json.dumps(result))


if __name__ == "__main__":
    main()
