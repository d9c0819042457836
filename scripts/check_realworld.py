#!/usr/bin/env python3
"""Print pass/fail for every real-world case (tests/realworld/cases.py); exit 1 when any fails.

usage: scripts/check_realworld.py [--no-build] [--case NAME ...] [-j N]
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.realworld.cases import CASES
from tests.realworld.checker import check, ensure_bases


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-build", action="store_true", help="skip building and running the buildable cases")
    parser.add_argument("--case", action="append", default=[], help="only this case (repeatable; prefix match)")
    parser.add_argument("-j", type=int, default=2, help="cases checked at once")
    args = parser.parse_args()
    cases = [c for c in CASES if not args.case or any(c.name.startswith(p) for p in args.case)]
    if not args.no_build and any(c.runtime for c in cases):
        ensure_bases()
    with ThreadPoolExecutor(max_workers=args.j) as pool:
        results = list(pool.map(lambda c: (c, check(c, build_images=not args.no_build)), cases))
    failed = 0
    for case, problems in results:
        print(f"{'PASS' if not problems else 'FAIL'}  {case.name}")
        for problem in problems:
            print(f"      - {problem}")
        failed += bool(problems)
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
