"""The endpoint index: host and host:port lookups over normalised DefectDojo rows."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.matching.index import MatchIndex

ROWS = [
    (4, "10.0.4.7", 443),
    (7, "10.0.4.7", 22),
    (4, "Pay-DB01.Corp.Example.com.", 5432),
    (4, "pay-db01.corp.example.com", 5432),  # the same endpoint spelled another way
    (6, "https://portal.example.com/", None),
    (6, "portal.example.com:8443", None),
    (9, "build07", None),
    (8, "2001:DB8:0:0::10", 443),
    (5, "n/a", None),
]


def test_lookups_by_host_and_by_host_and_port() -> None:
    index = MatchIndex.build(ROWS)
    assert index.products_for_host("10.0.4.7") == {4, 7}
    assert index.products_for_host_port("10.0.4.7", 443) == {4}
    assert index.products_for_host_port("10.0.4.7", 22) == {7}
    assert index.products_for_host_port("10.0.4.7", 80) == frozenset()
    assert index.products_for_host_port("pay-db01.corp.example.com", 5432) == {4}
    assert index.products_for_host("2001:db8::10") == {8}
    assert index.products_for_host("build07") == {9}
    assert index.products_for_host("build07.corp.example.com") == frozenset()
    assert index.products_for_host("unknown.example.com") == frozenset()


def test_urls_and_ports_inside_the_host_are_read() -> None:
    index = MatchIndex.build(ROWS)
    assert index.products_for_host_port("portal.example.com", 443) == {6}
    assert index.products_for_host_port("portal.example.com", 8443) == {6}
    assert index.products_for_host_port("portal.example.com", 80) == frozenset()


def test_counts_distinct_endpoints_and_skipped_rows() -> None:
    index = MatchIndex.build(ROWS)
    assert len(index) == 7
    assert index.skipped_rows == 1
    assert index.host_count == 5
    assert dict(index.endpoint_count_by_product) == {4: 2, 7: 1, 6: 2, 9: 1, 8: 1}


def test_port_less_rows_count_at_host_level_only() -> None:
    index = MatchIndex.build([(4, "db.example.com", 5432), (7, "db.example.com", None)])
    assert index.products_for_host("db.example.com") == {4, 7}
    assert index.products_for_host_port("db.example.com", 5432) == {4}


def test_with_rows_returns_a_grown_copy() -> None:
    index = MatchIndex.build(ROWS)
    grown = index.with_rows(
        [(7, "10.0.4.7", 443), (4, "10.0.4.7", 443), (3, "new.example.com", 80)]
    )
    assert grown.products_for_host_port("10.0.4.7", 443) == {4, 7}
    assert grown.products_for_host_port("new.example.com", 80) == {3}
    assert len(grown) == len(index) + 2
    assert grown.endpoint_count_by_product[7] == 2
    assert index.products_for_host_port("10.0.4.7", 443) == {4}
    assert index.products_for_host("new.example.com") == frozenset()


def test_an_empty_index() -> None:
    index = MatchIndex.build(())
    assert len(index) == 0
    assert index.products_for_host("10.0.4.7") == frozenset()


_rows = st.lists(
    st.tuples(
        st.integers(1, 4),
        st.sampled_from(["a.example.com", "A.EXAMPLE.COM.", "10.0.0.1", "::ffff:10.0.0.1", "b"]),
        st.one_of(st.none(), st.sampled_from([22, 80, 443])),
    ),
    max_size=30,
)


@given(_rows, _rows)
def test_growing_equals_building_at_once(
    first: list[tuple[int, str, int | None]], more: list[tuple[int, str, int | None]]
) -> None:
    grown = MatchIndex.build(first).with_rows(more)
    whole = MatchIndex.build(first + more)
    assert len(grown) == len(whole)
    assert dict(grown.endpoint_count_by_product) == dict(whole.endpoint_count_by_product)
    for host in ("a.example.com", "10.0.0.1", "b"):
        assert grown.products_for_host(host) == whole.products_for_host(host)
        for port in (22, 80, 443):
            assert grown.products_for_host_port(host, port) == whole.products_for_host_port(
                host, port
            )
