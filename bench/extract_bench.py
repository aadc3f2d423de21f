"""Time search-index extraction on official examples: one JSON line a resource type.

    .venv/bin/python bench/extract_bench.py [--repeat N]

prints {"resource": ..., "params": n, "rows": r, "us_per_extract": x}, params being the
parameters compiled for the type and x the best of five runs of N extractions in CPU time (the extractors
are compiled before timing, as a running server has them).
"""

import argparse
import json
import time
import timeit
from decimal import Decimal
from pathlib import Path

from shafa.fhir.indexing import _extractors, extract

EXAMPLES = Path(__file__).resolve().parent.parent / "tests" / "data" / "fhir-examples"
BENCHMARKED = (
    "patient-example.json",
    "observation-example.json",
    "encounter-example.json",
    "medicationrequest0301.json",
)


def main() -> None:
    """Print the extraction time of each benchmarked example."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20_000, help="extractions a run")
    repeat = parser.parse_args().repeat
    for name in BENCHMARKED:
        resource = json.loads((EXAMPLES / name).read_text(), parse_float=Decimal)
        rows = extract(resource)
        row_count = sum(len(getattr(rows, kind)) for kind in rows.__slots__)
        # CPU time, not wall time: the figure stays meaningful on a machine busy with other work.
        best = min(
            timeit.repeat(
                lambda r=resource: extract(r), number=repeat, repeat=5, timer=time.process_time
            )
        )
        result = {
            "resource": resource["resourceType"],
            "params": len(_extractors(resource["resourceType"])),
            "rows": row_count,
            "us_per_extract": round(best / repeat * 1e6, 1),
        }
        print(json.dumps(result))


if __name__ == "__main__":
    main()
