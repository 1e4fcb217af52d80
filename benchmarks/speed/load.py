"""Row 8, under load (issue 23, item 1). (Work in progress.)"""

from __future__ import annotations


def add_arguments(p) -> None:
    p.add_argument("--load", type=int, default=4, help="load: busy processes beside the app")


def run(args, rng) -> dict:
    raise SystemExit("load: not written yet")


def rows(args, env: dict, r: dict) -> list[tuple]:
    return []
