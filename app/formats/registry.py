"""The supported scan formats, and choosing one for an uploaded file.

One DefectDojo scan type may have several file formats (Tenable Scan: .nessus XML and CSV);
the format is chosen by sniffing the first bytes of the file among the formats of the
declared scan type, or among all formats when no scan type is given.
"""

from __future__ import annotations

from app.formats import (
    burp,
    generic_csv,
    generic_json,
    nexpose,
    nmap,
    nuclei,
    openvas_csv,
    openvas_xml,
    qualys_csv,
    qualys_xml,
    tenable_csv,
    tenable_xml,
    zap,
)
from app.formats.base import ScanFormat, ScanFormatError

FORMATS: dict[str, ScanFormat] = {
    module.FORMAT.name: module.FORMAT
    for module in (
        tenable_xml,
        tenable_csv,
        nmap,
        generic_json,
        generic_csv,
        nuclei,
        zap,
        burp,
        openvas_xml,
        openvas_csv,
        qualys_xml,
        qualys_csv,
        nexpose,
    )
}


def scan_types() -> list[str]:
    """DefectDojo scan type names this service can split, sorted."""
    return sorted({fmt.scan_type for fmt in FORMATS.values()})


def resolve(scan_type: str | None, head: bytes) -> ScanFormat:
    """The format of a file from its first bytes, within `scan_type` when one is given.

    Raises ScanFormatError with a message naming the expected formats (or the candidates
    when detection is ambiguous) so a person knows what to send.
    """
    if not head.strip():
        raise ScanFormatError("the file is empty")
    if scan_type is None:
        found = [fmt for fmt in FORMATS.values() if fmt.sniff(head)]
        if len(found) == 1:
            return found[0]
        if not found:
            raise ScanFormatError(
                "could not tell the scan type from the file's content; send scan_type, one of: "
                + ", ".join(scan_types())
            )
        raise ScanFormatError(
            "the file could be any of these scan types; send scan_type: "
            + ", ".join(sorted({fmt.scan_type for fmt in found}))
        )
    candidates = [fmt for fmt in FORMATS.values() if fmt.scan_type == scan_type]
    if not candidates:
        raise ScanFormatError(
            f"scan_type {scan_type!r} is not supported; supported: {', '.join(scan_types())}"
        )
    for fmt in candidates:
        if fmt.sniff(head):
            return fmt
    expected = " or ".join(fmt.description for fmt in candidates)
    detected = [fmt for fmt in FORMATS.values() if fmt.sniff(head)]
    found_text = (
        f"it looks like {detected[0].description} ({detected[0].scan_type})"
        if detected
        else "its content matches none of the supported formats"
    )
    raise ScanFormatError(f"scan_type {scan_type!r} expects {expected}, but {found_text}")
