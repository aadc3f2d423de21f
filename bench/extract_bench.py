"""Time search-index extraction on official examples: one JSON line a resource type.

    .venv/bin/python bench/extract_bench.py [--repeat N] [--country CITIZENS]

prints {"resource": ..., "params": n, "rows": r, "us_per_extract": x}: n the parameters
indexed for the type, r the rows of the example, x the best of five runs of N extractions in
CPU time (wall time would count the other work of a busy machine). The extractors are compiled
before timing, as a running server has them. An example extracted again and again finds its
texts and dates remembered; --country instead extracts every resource of the synthetic country
of that many citizens once, as `shafa demo` does, with the registries installed:
{"resource": ..., "count": c, "us_per_extract": x}, and "all" for the whole country.
"""

import argparse
import collections
import functools
import json
import time
import timeit
from decimal import Decimal
from pathlib import Path

from shafa import registries
from shafa.fhir.indexing import _plan, extract
from shafa.synthetic import country

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
    parser.add_argument("--country", type=int, help="citizens of a synthetic country to extract")
    args = parser.parse_args()
    if args.country:
        _country(args.country)
        return
    repeat = args.repeat
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


def _country(citizens: int) -> None:
    """Extract each resource of the synthetic country once, timed by type."""
    registries.install()
    plan = country.plan(citizens, seed=1)
    by_type: dict[str, list[dict]] = collections.defaultdict(list)
    for resource in [*country.facility_resources(plan), *country.households(plan)]:
        by_type[resource["resourceType"]].append(resource)
    for resources in by_type.values():
        extract(resources[0])  # compiles the type's extractors
    total = 0.0
    for resource_type, resources in sorted(by_type.items(), key=lambda item: -len(item[1])):
        started = time.process_time()
        for resource in resources:
            extract(resource)
        seconds = time.process_time() - started
        total += seconds
        result = {
            "resource": resource_type,
            "count": len(resources),
            "us_per_extract": round(seconds / len(resources) * 1e6, 1),
        }
        print(json.dumps(result))
    count = sum(map(len, by_type.values()))
    print(
        json.dumps(
            {"resource": "all", "count": count, "us_per_extract": round(total / count * 1e6, 1)}
        )
    )


if __name__ == "__main__":
    main()
