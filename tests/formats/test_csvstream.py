"""csvstream: decoding, locating errors, limits and columns of the shared CSV reader."""

from __future__ import annotations

import codecs
import io

import pytest

from app.formats import csvstream
from app.formats.base import ScanFormatError


def rows(data: bytes, **options: object) -> list[tuple[int, list[str]]]:
    table = csvstream.open_table(io.BytesIO(data), what="a test CSV", **options)  # type: ignore[arg-type]
    return list(table.rows())


class TestDecoding:
    @pytest.mark.parametrize(
        "encoded",
        [
            "a,b\nx,é\n".encode(),
            codecs.BOM_UTF8 + "a,b\nx,é\n".encode(),
            "a,b\nx,é\n".encode("utf-16"),
            "a,b\nx,é\n".encode("utf-16-be").join([codecs.BOM_UTF16_BE, b""]),
            "a,b\nx,é\n".encode("utf-32"),
        ],
        ids=["utf-8", "utf-8-bom", "utf-16-le-bom", "utf-16-be-bom", "utf-32-bom"],
    )
    def test_supported_encodings_read_alike(self, encoded: bytes) -> None:
        table = csvstream.open_table(io.BytesIO(encoded), what="x")
        assert table.header == ["a", "b"]
        assert list(table.rows()) == [(1, ["x", "é"])]

    def test_multibyte_character_across_chunks(self) -> None:
        padding = "p" * (64 * 1024 - 5)
        data = f"a\n{padding}é\n".encode()
        assert rows(data) == [(1, [padding + "é"])]

    def test_invalid_utf8_is_located_beyond_the_first_chunk(self) -> None:
        lines = [b"a,b"] + [b"x,y"] * 30000 + [b"ok,caf\xe9"]
        with pytest.raises(ScanFormatError) as caught:
            rows(b"\n".join(lines) + b"\n")
        assert (caught.value.line, caught.value.column) == (30002, 7)
        assert "0xE9" in caught.value.message

    def test_empty_and_bom_only_files(self) -> None:
        for data in (b"", codecs.BOM_UTF8):
            with pytest.raises(ScanFormatError, match="empty; expected a test CSV"):
                rows(data)


class TestRows:
    def test_quoted_newlines_crlf_and_blank_lines(self) -> None:
        data = b'a,b\r\n"multi\r\nline",2\r\n\r\nx,3\r\n'
        assert rows(data) == [(1, ["multi\r\nline", "2"]), (2, ["x", "3"])]

    def test_short_and_long_rows_are_returned_as_read(self) -> None:
        assert rows(b"a,b\n1\n1,2,3\n") == [(1, ["1"]), (2, ["1", "2", "3"])]

    def test_field_over_the_limit_names_record_and_line(self) -> None:
        big = b"A" * (csvstream.FIELD_LIMIT + 1)
        with pytest.raises(ScanFormatError) as caught:
            rows(b'a,b\n1,2\n3,"' + big + b'"\n')
        assert (caught.value.record, caught.value.line) == (2, 3)

    def test_line_over_the_limit_is_refused_before_buffering_more(self) -> None:
        endless = b"a\n" + b"x" * (4 * csvstream.FIELD_LIMIT + 2)
        with pytest.raises(ScanFormatError, match="line 2 is longer"):
            rows(endless)


class TestColumns:
    def test_required_alternatives_are_named(self) -> None:
        with pytest.raises(ScanFormatError) as caught:
            rows(b"x,y\n", required=(("Name", "Title"),))
        assert "'Name' or 'Title'" in caught.value.message
        assert "a test CSV" in caught.value.message

    def test_first_present_alternative_and_last_duplicate(self) -> None:
        table = csvstream.open_table(io.BytesIO(b"b,a,b\n"), what="x")
        assert table.column("missing", "a") == 1
        assert table.column("b") == 2
        assert table.column("missing") is None

    def test_delimiter_chosen_from_the_header_line(self) -> None:
        def choose(line: str) -> str:
            return ";" if ";" in line else ","

        table = csvstream.open_table(io.BytesIO(b"a;b\n1;2\n"), what="x", delimiter=choose)
        assert (table.delimiter, list(table.rows())) == (";", [(1, ["1", "2"])])


class TestWriter:
    def test_writes_utf8_and_leaves_the_stream_open(self) -> None:
        out = io.BytesIO()
        with csvstream.csv_writer(out, ";") as writer:
            writer.writerow(["é", "a;b"])
        assert out.getvalue() == 'é;"a;b"\r\n'.encode()
        out.write(b"still open")

    def test_sniff_helpers_read_a_utf16_header(self) -> None:
        assert csvstream.parse_header("x;y\nrest".encode("utf-16"), ";") == ["x", "y"]
