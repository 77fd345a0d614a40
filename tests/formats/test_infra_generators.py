"""bench generators of Tenable and Nmap files: valid, reproducible, streaming, realistic."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import pytest

from app.formats import nmap, tenable_csv, tenable_xml
from app.formats.base import ScanFormat
from bench import gen_nmap, gen_tenable, generate
from tests.formats.infra_check import parse

Writer = Callable[[BinaryIO, int, int, int], None]
CASES: list[tuple[str, Writer, ScanFormat]] = [
    ("tenable-xml", gen_tenable.nessus_xml, tenable_xml.FORMAT),
    ("tenable-csv", gen_tenable.tenable_csv, tenable_csv.FORMAT),
    ("nmap-xml", gen_nmap.nmap_xml, nmap.FORMAT),
]


class Sink(io.RawIOBase):
    """A write-only stream that keeps only the size of what it is given."""

    def __init__(self) -> None:
        self.total = 0
        self.largest = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.total += len(data)
        self.largest = max(self.largest, len(data))
        return len(data)


def written(writer: Writer, hosts: int, findings: int, seed: int = 0) -> bytes:
    out = io.BytesIO()
    writer(out, hosts, findings, seed)
    return out.getvalue()


@pytest.mark.parametrize(("name", "writer", "fmt"), CASES, ids=[c[0] for c in CASES])
class TestGenerators:
    def test_reproducible_from_the_seed(self, name: str, writer: Writer, fmt: ScanFormat) -> None:
        assert written(writer, 4, 5, seed=7) == written(writer, 4, 5, seed=7)
        assert written(writer, 4, 5, seed=7) != written(writer, 4, 5, seed=8)

    def test_sniffed_and_parsed_by_its_format(
        self, name: str, writer: Writer, fmt: ScanFormat
    ) -> None:
        data = written(writer, 30, 6)
        assert fmt.sniff(data[:65536])
        records = parse(fmt, data)
        ports = [r for r in records if not r.title.startswith(("CVE-", "EXPLOITPACK:"))]
        assert len(ports) == 30 * 6
        hosts = {r.host for r in records}
        assert len(hosts) == 30
        assert any(h.netbios for h in hosts) and any(h.fqdn for h in hosts)
        assert any(h.dd_host == h.ip for h in hosts) and any(h.dd_host == h.fqdn for h in hosts)
        hosts_per_title: dict[str, set[str | None]] = {}
        for record in records:
            hosts_per_title.setdefault(record.title, set()).add(record.host.dd_host)
        assert max(len(found_on) for found_on in hosts_per_title.values()) > 1

    def test_streams_in_small_writes(self, name: str, writer: Writer, fmt: ScanFormat) -> None:
        sink = Sink()
        writer(sink, 300, 40, 0)  # type: ignore[arg-type]
        assert sink.total > 2 * 1024 * 1024
        assert sink.largest < 512 * 1024

    def test_registered_and_runnable_from_the_command_line(
        self, name: str, writer: Writer, fmt: ScanFormat, tmp_path: Path
    ) -> None:
        target = tmp_path / "scan"
        generate.main(
            [name, "--hosts", "3", "--findings", "2", "--seed", "5", "--out", str(target)]
        )
        assert target.read_bytes() == written(writer, 3, 2, seed=5)
