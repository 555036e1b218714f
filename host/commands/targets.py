"""`neurocosim targets`: list the registered targets and their limits."""

from __future__ import annotations

import argparse

from ...hw.targets import get_target, target_names


def register(sub) -> None:
    p = sub.add_parser("targets", help="list targets and their limits")
    p.add_argument("name", nargs="?", help="show only this target")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    names = [args.name] if args.name else target_names()
    for name in names:
        spec = get_target(name)
        print(f"{spec.name}: {spec.description}")
        for key, value in spec.limits().items():
            if key == "models":
                value = ", ".join(value)
            print(f"    {key:<24} {value}")
    return 0
