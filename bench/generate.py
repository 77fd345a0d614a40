"""Synthetic scan files for benchmarks and tests: a registry of generators and a CLI.

Every generator writes one file format as a stream and is reproducible from its seed:
``write(out, *, hosts=N, findings=M, seed=S)`` writes N hosts with M findings each.

    python -m bench.generate zap-xml /tmp/zap.xml --hosts 2000 --findings 50 --seed 1
    python -m bench.generate tenable-xml --hosts 2000 --findings 100 --out /tmp/scan.nessus
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from bench import (
    gen_burp,
    gen_generic,
    gen_nexpose,
    gen_nmap,
    gen_nuclei,
    gen_openvas,
    gen_qualys,
    gen_tenable,
    gen_zap,
)

Generator = Callable[..., None]


def _per_host(write: Callable[[BinaryIO, int, int, int], None]) -> Generator:
    """Adapt a generator taking `findings_per_host` to the registry's `findings` keyword."""

    def generator(out: BinaryIO, *, hosts: int, findings: int, seed: int = 0) -> None:
        write(out, hosts, findings, seed)

    return generator


GENERATORS: dict[str, Generator] = {
    "generic-json": gen_generic.write_json,
    "generic-csv": gen_generic.write_csv,
    "nuclei-json": gen_nuclei.write,
    "zap-xml": gen_zap.write,
    "burp-xml": gen_burp.write,
    "tenable-xml": _per_host(gen_tenable.nessus_xml),
    "tenable-csv": _per_host(gen_tenable.tenable_csv),
    "nmap-xml": _per_host(gen_nmap.nmap_xml),
    "openvas-xml": gen_openvas.write_xml,
    "openvas-csv": gen_openvas.write_csv,
    "qualys-xml": gen_qualys.write_xml,
    "qualys-csv": gen_qualys.write_csv,
    "nexpose-xml": gen_nexpose.write,
}
"""Format name (as in app.formats.registry) → generator."""


def generate(name: str, out: BinaryIO, *, hosts: int, findings: int, seed: int = 0) -> None:
    """Write a synthetic file of format `name`."""
    GENERATORS[name](out, hosts=hosts, findings=findings, seed=seed)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("format", choices=sorted(GENERATORS))
    parser.add_argument("output", type=Path, nargs="?")
    parser.add_argument("--out", type=Path, help="the file to write (instead of OUTPUT)")
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--findings", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    target = args.out or args.output
    if target is None:
        parser.error("give the file to write as OUTPUT or --out")
    with target.open("wb") as out:
        generate(args.format, out, hosts=args.hosts, findings=args.findings, seed=args.seed)


if __name__ == "__main__":
    main()
