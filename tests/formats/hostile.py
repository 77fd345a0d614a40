"""Broken and hostile inputs that any format module must refuse cleanly — reusable.

Each builder returns the bytes of one bad file, usually derived from a valid sample of the
format under test so that only the one defect differs. `assert_refused` checks the
contract: `records()` raises ScanFormatError (never another exception, never hangs or
expands entities) and, where the defect has a place, says where (line/column or record).

    from tests.formats import hostile
    hostile.assert_refused(FORMAT, hostile.truncated(valid), located=True)
"""

from __future__ import annotations

import contextlib
import io
import re
import socket
from collections.abc import Callable, Iterator

import pytest

from app.formats.base import Record, ScanFormat, ScanFormatError

TEN_MIB = 10 * 1024 * 1024


def records_of(fmt: ScanFormat, data: bytes) -> list[Record]:
    return list(fmt.records(io.BytesIO(data)))


def assert_refused(
    fmt: ScanFormat, data: bytes, *, located: bool, match: str | None = None
) -> ScanFormatError:
    """records() raises ScanFormatError; with `located`, the error names a line or record."""
    with pytest.raises(ScanFormatError) as caught:
        records_of(fmt, data)
    error = caught.value
    if located:
        assert error.line is not None or error.record is not None, error.describe()
    if match is not None:
        assert re.search(match, error.describe()), error.describe()
    return error


def empty() -> bytes:
    return b""


def truncated(valid: bytes, fraction: float = 0.6) -> bytes:
    """The first `fraction` of a valid file, as an interrupted upload leaves it."""
    return valid[: int(len(valid) * fraction)]


def malformed_xml(valid: bytes) -> bytes:
    """A valid XML file with a mismatched end tag inserted after its root start tag."""
    root_end = valid.index(b">", valid.index(b"<", _after_prologue(valid))) + 1
    return valid[:root_end] + b"\n<broken><tag></broken>\n" + valid[root_end:]


def xxe(root: str) -> bytes:
    """An external entity reading a local file."""
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE {root} [<!ENTITY secret SYSTEM '
        f'"file:///etc/passwd">]>\n<{root}>&secret;</{root}>\n'
    ).encode()


def billion_laughs(root: str) -> bytes:
    """Nested internal entities expanding to 10^9 copies."""
    levels = "".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10))
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE {root} [<!ENTITY lol0 "lol">{levels}]>\n'
        f'<{root} name="&lol9;">&lol9;</{root}>\n'
    ).encode()


def external_dtd(root: str, url: str, attributes: str = "") -> bytes:
    """A DOCTYPE naming a DTD at `url` and using an entity only that DTD could define.

    `attributes` are written on the root (some formats require one, e.g. nmaprun@start).
    """
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE {root} SYSTEM "{url}">\n'
        f"<{root} {attributes}>&unknown;</{root}>\n"
    ).encode()


@contextlib.contextmanager
def listening_socket() -> Iterator[tuple[str, Callable[[], bool]]]:
    """A local HTTP-ish URL and a check telling whether anything connected to it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)

    def contacted() -> bool:
        try:
            connection, _ = server.accept()
        except BlockingIOError:
            return False
        connection.close()
        return True

    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/evil.dtd", contacted
    finally:
        server.close()


def huge_xml_text(valid: bytes, size: int = TEN_MIB) -> bytes:
    """A valid XML file with one text node of `size` bytes inside its root."""
    root_end = valid.index(b">", valid.index(b"<", _after_prologue(valid))) + 1
    return valid[:root_end] + b"<padding>" + b"A" * size + b"</padding>" + valid[root_end:]


def utf16_xml(valid: bytes) -> bytes:
    """The same XML document encoded as UTF-16 with a byte order mark."""
    text = valid.decode("utf-8")
    text = re.sub(r'encoding=["\'][^"\']*["\']', 'encoding="UTF-16"', text, count=1)
    return text.encode("utf-16")


def utf16_csv(valid: bytes) -> bytes:
    """The same CSV encoded as UTF-16 with a byte order mark, as Excel saves it."""
    return valid.decode("utf-8").encode("utf-16")


def latin1_csv(valid: bytes, line: int = 2) -> bytes:
    """A CSV whose line `line` (1-based) carries a Latin-1 "é" (invalid UTF-8 byte 0xE9)."""
    lines = valid.split(b"\n")
    lines[line - 1] = b"Caf\xe9," + lines[line - 1]
    return b"\n".join(lines)


def huge_csv_field(valid: bytes, size: int = TEN_MIB) -> bytes:
    """A CSV with one quoted field of `size` characters added to its first data row."""
    header, _, rest = valid.partition(b"\n")
    return header + b"\n" + b'"' + b"A" * size + b'",' + rest


def huge_csv_line(valid: bytes, size: int = 64 * 1024 * 1024) -> bytes:
    """A CSV whose first data line runs `size` bytes without a line break."""
    header, _, rest = valid.partition(b"\n")
    return header + b"\n" + b"A" * size + rest


def without_column(valid: bytes, column: str, replacement: str = "Renamed") -> bytes:
    """A CSV whose header no longer has `column` (renamed, so every row keeps its cells)."""
    header, _, rest = valid.partition(b"\n")
    names = header.decode("utf-8").split(",")
    renamed = [replacement if name.strip('"') == column else name for name in names]
    return ",".join(renamed).encode("utf-8") + b"\n" + rest


def _after_prologue(valid: bytes) -> int:
    """Offset after the XML declaration, PIs, comments and DOCTYPE."""
    position = 0
    for match in re.finditer(rb"\s*(<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>)", valid, re.DOTALL):
        if match.start() != position:
            break
        position = match.end()
    return position
