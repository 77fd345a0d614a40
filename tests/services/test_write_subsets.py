"""Writing every product's subset at once gives what writing each one alone gives.

Every format writes all shares' subsets in one pass (`write_subsets`), and
`planning.write_subsets` calls it in groups of at most `MAX_OPEN_SUBSETS` shares; each
subset must be the one the single-share writer (`write_subset`) gives for that share: the
same bytes (.nessus: the same records, since copies of a host split over several products
drop a redundant namespace declaration) and the same count of records written. Checked on
every sample file of every format and on a generated multi-host file, with records dealt
to products one by one (so hosts, alert items and findings with several endpoints are
split between products) and host by host.
"""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest

from app.formats.base import Record, ScanFormat
from app.formats.registry import FORMATS
from app.formats.shares import owners
from app.services import planning
from app.services.planning import write_subsets
from bench.generate import generate
from tests.formats.scan_files import REPO, samples

Shown = tuple[object, ...]

SAMPLE_FILES: dict[str, tuple[str, str]] = {
    "burp-xml": ("burp", "*.xml"),
    "generic-csv": ("generic", "*.csv"),
    "generic-json": ("generic", "*.json"),
    "nexpose-xml": ("nexpose", "*.xml"),
    "nmap-xml": ("nmap", "*.xml"),
    "nuclei-json": ("nuclei", "*.json"),
    "openvas-csv": ("openvas", "*.csv"),
    "openvas-xml": ("openvas", "*.xml"),
    "qualys-csv": ("qualys", "*.csv"),
    "qualys-xml": ("qualys", "*.xml"),
    "tenable-csv": ("tenable", "*.csv"),
    "tenable-xml": ("tenable", "*.xml"),
    "zap-xml": ("zap", "*.xml"),
}
"""Format → sample family and pattern, in ../shared/scans and tests/formats/samples."""
SAME_RECORDS_ONLY = {"tenable-xml"}
GENERATED = "generated-30-hosts"

_ZAP_ITEM = """<alertitem><pluginid>{n}</pluginid><alert>Alert {n}</alert><riskcode>2</riskcode>
<instances>
<instance><uri>https://a.example/x</uri></instance>
<instance><uri>https://b.example/y</uri></instance>
<instance><uri>https://a.example:8443/z</uri></instance>
<instance><uri>https://a.example/w</uri></instance>
<instance><uri>http://c.example/</uri></instance>
</instances><solution>Fix.</solution></alertitem>
"""
_BURP_ISSUE = """<issue><serialNumber>{n}</serialNumber><type>{kind}</type><name>Issue {kind}</name>
<host ip="192.0.2.{n}">{url}</host><path>/{n}</path><location>/{n}</location>
<severity>Medium</severity><confidence>Firm</confidence></issue>
"""
_NUCLEI_RESULT = (
    '{{"template-id":"t{n}","info":{{"name":"T{n}","severity":"high"}},'
    '"type":"http","matched-at":"{url}"}}\n'
)
_URLS = ("https://a.example/1", "https://a.example/2", "b.example:22", "https://a.example:8443/")
MIXED: dict[str, bytes] = {
    "zap-xml": (
        '<?xml version="1.0"?>\n<OWASPZAPReport version="2.14.0">\n'
        '<site name="https://a.example" host="a.example" port="443" ssl="true"><alerts>\n'
        + _ZAP_ITEM.format(n=1)
        + _ZAP_ITEM.format(n=2)
        + '</alerts></site>\n<site name="http://c.example" host="c.example" port="80"><alerts>\n'
        + _ZAP_ITEM.format(n=3)
        + "</alerts></site>\n</OWASPZAPReport>\n"
    ).encode(),
    "generic-json": (
        b'{"name": "mixed", "findings": [{"title": "A", "severity": "High", "description": "d",'
        b' "endpoints": ["https://a.example/x", {"host": "b.example", "port": 22,'
        b' "protocol": "ssh"}, "a.example:8443", "https://a.example/y", "c.example"]},'
        b' {"title": "B", "severity": "Low", "description": "no endpoint"},'
        b' {"title": "C", "severity": "Info", "description": "e", "endpoints": ["c.example",'
        b' "https://a.example/q"]}], "type": "after"}'
    ),
    "generic-csv": b"Date,Title,Url,Severity,Description\n"
    + b"".join(
        f"2024-01-0{n % 3 + 1},Title {n % 3},{url},High,Same\n".encode()
        for n, url in enumerate(_URLS * 3)
    ),
    "burp-xml": (
        '<?xml version="1.0"?>\n<issues burpVersion="2024.1" exportTime="now">\n'
        + "".join(
            _BURP_ISSUE.format(n=n + 1, kind=n % 3, url=url.rsplit("/", 1)[0])
            for n, url in enumerate(_URLS * 3)
        )
        + "</issues>\n"
    ).encode(),
    "nuclei-json": "".join(
        _NUCLEI_RESULT.format(n=n % 3, url=url) for n, url in enumerate(_URLS * 3)
    ).encode(),
}
"""Units holding records on several hosts and ports, or records repeated in several rows,
which a one-pass writer splits between shares or must count once."""


def _files(name: str) -> list[Path]:
    family, pattern = SAMPLE_FILES[name]
    own = sorted((REPO / "tests" / "formats" / "samples" / family).glob(pattern))
    return samples(family, pattern) + own


CASES = [
    *((name, path.name) for name in sorted(FORMATS) for path in _files(name)),
    *((name, GENERATED) for name in sorted(FORMATS)),
    *((name, "mixed") for name in sorted(MIXED)),
]


def _scan(name: str, file_name: str) -> bytes:
    if file_name == "mixed":
        return MIXED[name]
    if file_name != GENERATED:
        (path,) = [p for p in _files(name) if p.name == file_name]
        return path.read_bytes()
    out = io.BytesIO()
    generate(name, out, hosts=30, findings=6, seed=3)
    return out.getvalue()


def _shown(record: Record) -> Shown:
    return (record.title, record.severity, record.host, record.port, record.protocol)


def _records(fmt: ScanFormat, document: bytes) -> list[Shown]:
    return [_shown(r) for r in fmt.records(io.BytesIO(document))]


def _alone(fmt: ScanFormat, scan: bytes, keep: set[int]) -> tuple[int, bytes]:
    out = io.BytesIO()
    written = fmt.write_subset(io.BytesIO(scan), keep, out)
    return written, out.getvalue()


def _by_record(records: list[Record], seed: str, products: int) -> dict[int, set[int]]:
    """Each record to one of `products` products at random, or (one in six) to none."""
    rng = random.Random(seed)
    keeps: dict[int, set[int]] = {}
    for record in records:
        product = rng.randrange(products + products // 5 + 1)
        if product < products:
            keeps.setdefault(product, set()).add(record.index)
    return keeps


def _round_robin(records: list[Record], seed: str, products: int) -> dict[int, set[int]]:
    """Record n to product n mod 3: every unit of several records is split."""
    keeps: dict[int, set[int]] = {}
    for record in records:
        keeps.setdefault(record.index % 3, set()).add(record.index)
    return keeps


def _by_host(records: list[Record], seed: str, products: int) -> dict[int, set[int]]:
    """Each host's records to one product, as routing by host does."""
    rng = random.Random(seed)
    chosen: dict[object, int] = {}
    keeps: dict[int, set[int]] = {}
    for record in records:
        product = chosen.setdefault(record.host.dd_host, rng.randrange(products + 1))
        if product < products:
            keeps.setdefault(product, set()).add(record.index)
    return keeps


def _assert_each_as_alone(
    name: str,
    scan: bytes,
    keeps: dict[int, set[int]],
    outs: dict[int, io.BytesIO],
    written: dict[int, int],
) -> None:
    """Each subset is the single-share writer's, and holds the records it says it wrote."""
    fmt = FORMATS[name]
    assert written.keys() == keeps.keys()
    for product, keep in keeps.items():
        count, alone = _alone(fmt, scan, keep)
        document = outs[product].getvalue()
        assert written[product] == count == len(_records(fmt, document)), product
        if name in SAME_RECORDS_ONLY:
            assert _records(fmt, document) == _records(fmt, alone), product
        else:
            assert document == alone, product


@pytest.mark.parametrize(("name", "file_name"), CASES, ids=[f"{n}-{f}" for n, f in CASES])
def test_one_pass_subsets_are_the_single_share_subsets(name: str, file_name: str) -> None:
    fmt = FORMATS[name]
    scan = _scan(name, file_name)
    records = list(fmt.records(io.BytesIO(scan)))
    products = 20 if file_name == GENERATED else 6
    for deal in (_by_record, _round_robin, _by_host):
        keeps = deal(records, f"{name}/{file_name}", products)
        outs = {product: io.BytesIO() for product in keeps}

        written = fmt.write_subsets(io.BytesIO(scan), keeps, outs)

        _assert_each_as_alone(name, scan, keeps, outs, written)
    if file_name == GENERATED:
        assert len(keeps) > 4


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_planning_writes_more_shares_than_open_files_in_groups(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(planning, "MAX_OPEN_SUBSETS", 3)
    fmt = FORMATS[name]
    scan = _scan(name, GENERATED)
    keeps = _by_record(list(fmt.records(io.BytesIO(scan))), name, 8)
    outs = {product: io.BytesIO() for product in keeps}

    written = write_subsets(fmt, io.BytesIO(scan), keeps, outs)

    _assert_each_as_alone(name, scan, keeps, outs, written)


def test_an_empty_share_is_a_document_without_records() -> None:
    for name, fmt in FORMATS.items():
        scan = _scan(name, GENERATED)
        outs = {"none": io.BytesIO(), "first": io.BytesIO()}

        written = fmt.write_subsets(io.BytesIO(scan), {"none": set(), "first": {0}}, outs)

        assert written["none"] == 0, name
        assert outs["none"].getvalue() == _alone(fmt, scan, set())[1], name
        assert _records(fmt, outs["none"].getvalue()) == [], name


def test_overlapping_shares_are_refused() -> None:
    """An upload's shares never overlap (each record goes to one product at most)."""
    scan = _scan("tenable-xml", GENERATED)
    with pytest.raises(ValueError, match="record 3 is in two shares"):
        write_subsets(
            FORMATS["tenable-xml"],
            io.BytesIO(scan),
            {1: {0, 1, 2, 3}, 2: {3, 4, 5}},
            {1: io.BytesIO(), 2: io.BytesIO()},
        )


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_one_pass_writers_refuse_overlapping_shares(name: str) -> None:
    fmt = FORMATS[name]
    with pytest.raises(ValueError, match="record 1 is in two shares"):
        fmt.write_subsets(
            io.BytesIO(_scan(name, GENERATED)),
            {1: {0, 1}, 2: {1}},
            {1: io.BytesIO(), 2: io.BytesIO()},
        )


def test_owners_refuse_a_record_in_two_shares() -> None:
    assert list(owners([{0, 2}, {1}])) == [0, 1, 0]
    with pytest.raises(ValueError, match="record 2 is in two shares"):
        owners([{0, 2}, {2}])
