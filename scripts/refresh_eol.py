#!/usr/bin/env python3
"""Refresh dockaudit's end-of-life snapshot (src/dockaudit/rules/data/endoflife.json) from https://endoflife.date/api.

Every product already in the snapshot is fetched again (add one with `--product ID`); each gets today's date
as `as_of` and its API URL as `source`. Nothing is written unless every product was fetched, so a network
failure leaves the shipped snapshot as it was. `-o FILE` writes elsewhere, for `DOCKAUDIT_EOL_DATA=FILE`.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dockaudit.rules.eol import dump_snapshot, parse_snapshot

SNAPSHOT = Path(__file__).resolve().parent.parent / "src" / "dockaudit" / "rules" / "data" / "endoflife.json"
API = "https://endoflife.date/api/{product}.json"


def _date_or_bool(value: Any) -> str | bool | None:
    if isinstance(value, bool) or value is None:
        return value
    text = str(value)
    return text[:10] if len(text) >= 10 and text[4] == "-" else None


def cycles_from_api(releases: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The snapshot's cycle entries from endoflife.date's `/api/{product}.json` answer."""
    cycles: dict[str, dict[str, Any]] = {}
    for release in releases:
        name = str(release.get("cycle", "")).strip()
        eol = _date_or_bool(release.get("eol", False))
        if not name or eol is None:
            continue
        entry: dict[str, Any] = {"eol": eol}
        extended = _date_or_bool(release.get("extendedSupport"))
        if isinstance(extended, str):
            entry["extended_support"] = extended
        codename = release.get("codename")
        if isinstance(codename, str) and codename.strip():
            # Ubuntu's "Noble Numbat" is tagged `noble`, Debian's "Bookworm" `bookworm`.
            entry["codename"] = codename.split()[0].lower()
        cycles[name] = entry
    return cycles


def fetch(product: str, timeout: float) -> list[dict[str, Any]]:
    """The release cycles endoflife.date publishes for `product`."""
    url = API.format(product=product)
    headers = {"Accept": "application/json", "User-Agent": "dockaudit-refresh"}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - a fixed https URL
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        data = json.load(response)
    if not isinstance(data, list):
        raise ValueError(f"{url}: expected a list of release cycles")
    return data


def main(argv: list[str]) -> int:
    """Fetch, check and write the snapshot; exit 0 written, 2 usage, 3 a product could not be fetched."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=SNAPSHOT, help="file to write (default: the shipped one)")
    parser.add_argument("--product", action="append", default=[], help="also fetch this endoflife.date product id")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds per request")
    args = parser.parse_args(argv)
    current = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    titles = {pid: p["title"] for pid, p in current["products"].items()}
    products = sorted({*current["products"], *args.product})
    today = datetime.now(UTC).date().isoformat()
    fresh: dict[str, Any] = {}
    for product in products:
        try:
            releases = fetch(product, args.timeout)
        except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
            sys.stderr.write(f"refresh_eol: {product}: {exc}; nothing written\n")
            return 3
        fresh[product] = {
            "title": titles.get(product, product),
            "as_of": today,
            "source": API.format(product=product),
            "cycles": cycles_from_api(releases),
        }
    data = {**current, "compiled": today, "products": fresh}
    text = dump_snapshot(data)
    parse_snapshot(text, str(args.output))  # never write a file dockaudit cannot read
    args.output.write_text(text, encoding="utf-8")
    sys.stderr.write(f"refresh_eol: wrote {len(fresh)} products to {args.output}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
