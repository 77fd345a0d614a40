"""What the client reads from DefectDojo, and the options it sends with an import.

The models keep only the fields the service uses and ignore the rest, so they read the
answers of DD 2.58 and 3.2 alike (the field sets differ, see ../shared/defectdojo/).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class DojoModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


T = TypeVar("T")


class Page(DojoModel, Generic[T]):
    """One page of a DD list: `count` is the total over all pages at the time of the call.

    `next`/`previous` are DD's absolute URLs; the client does not follow them because DD
    builds them from its own idea of its host, which behind a proxy is not the base URL.
    """

    count: int
    next: str | None = None
    previous: str | None = None
    results: list[T]


class DojoUser(DojoModel):
    """The caller, from `user_profile`'s `user`. DD 2.58 does not send `is_staff`."""

    id: int
    username: str
    is_staff: bool = False
    is_superuser: bool = False


class ProductType(DojoModel):
    id: int
    name: str


class Product(DojoModel):
    id: int
    name: str
    prod_type: int
    description: str | None = None


class Engagement(DojoModel):
    id: int
    name: str | None = None
    product: int


class Test(DojoModel):
    """A test; `scan_type` is the importer's name (e.g. "Tenable Scan"), `test_type_name` the
    name of its Test_Type, equal for tests created by import. `title` is null unless an
    import sent `test_title`."""

    id: int
    title: str | None = None
    engagement: int
    test_type: int
    test_type_name: str | None = None
    scan_type: str | None = None

    def is_of_scan_type(self, scan_type: str) -> bool:
        """Whether a reimport of `scan_type` belongs in this test, as DD's own lookup decides
        (by the test's `scan_type`, falling back to its type's name)."""
        return (self.scan_type or self.test_type_name) == scan_type


class EndpointRow(DojoModel):
    """One row of `/api/v2/endpoints/`: a 2.x Endpoint, or in 3.x a product<->location link.

    DD 2.58 sends null for empty parts, DD 3.2 sends "": both become None here.
    """

    id: int
    host: str | None = None
    port: int | None = None
    protocol: str | None = None
    path: str | None = None
    product: int | None = None

    @field_validator("host", "protocol", "path", "port", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value


class ImportResult(DojoModel):
    """DD's answer to import-scan / reimport-scan.

    `statistics` holds `after` (and on reimport `before`, `delta`) as DD sends them. The other
    fields echo the request; DD 2.58 omits `deduplication_complete` and, unless sent,
    `test_title`.
    """

    test_id: int
    engagement_id: int
    product_id: int
    product_type_id: int | None = None
    statistics: dict[str, Any] = Field(default_factory=dict)
    scan_type: str | None = None
    test_title: str | None = None
    close_old_findings: bool | None = None
    deduplication_complete: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _test_id_from_test(cls, data: object) -> object:
        # `test` is the older name of `test_id`; reimport may send the test as an object id.
        if isinstance(data, dict) and data.get("test_id") is None and "test" in data:
            return {**data, "test_id": data["test"]}
        return data


Severity = Literal["Info", "Low", "Medium", "High", "Critical"]
GroupBy = Literal[
    "component_name",
    "component_name+component_version",
    "file_path",
    "finding_title",
    "vuln_id_from_tool",
]


class ImportOptions(DojoModel):
    """The options of an import or reimport, sent as multipart form fields.

    Mirrors DD's `ImportScanSerializer` / `ReImportScanSerializer`: `active` and `verified`
    are applied only when present in the request (absent = the parser decides), so None
    is omitted rather than sent as false. `close_old_findings` is always sent: its default
    is false on import but true on reimport, and a silent true would close every finding
    of the test that is not in this product's share.
    """

    scan_type: str = Field(min_length=1)
    scan_date: date | None = None
    minimum_severity: Severity = "Info"
    active: bool | None = None
    verified: bool | None = None
    tags: tuple[str, ...] = ()
    version: str | None = None
    branch_tag: str | None = None
    commit_hash: str | None = None
    build_id: str | None = None
    group_by: GroupBy | None = None
    close_old_findings: bool = False
    test_title: str | None = None

    @field_validator("tags")
    @classmethod
    def _tags_without_commas(cls, tags: tuple[str, ...]) -> tuple[str, ...]:
        # DD's TagListSerializerField splits every value on commas, so "a,b" becomes two
        # tags; refuse it here rather than create tags nobody asked for.
        for tag in tags:
            if not tag or "," in tag:
                raise ValueError(f"tag {tag!r} must be non-empty and contain no comma")
        return tags

    def form_fields(self) -> dict[str, str | list[str]]:
        """The form fields DD expects: booleans as "true"/"false", the date as ISO, tags as
        repeated `tags` fields (DRF reads a repeated field as a list), None and "" omitted
        (DD's char fields refuse blank values)."""
        fields: dict[str, str | list[str]] = {
            "scan_type": self.scan_type,
            "minimum_severity": self.minimum_severity,
            "close_old_findings": _bool(self.close_old_findings),
        }
        if self.scan_date is not None:
            fields["scan_date"] = self.scan_date.isoformat()
        if self.active is not None:
            fields["active"] = _bool(self.active)
        if self.verified is not None:
            fields["verified"] = _bool(self.verified)
        if self.tags:
            fields["tags"] = list(self.tags)
        if self.group_by is not None:
            fields["group_by"] = self.group_by
        texts = {
            "version": self.version,
            "branch_tag": self.branch_tag,
            "commit_hash": self.commit_hash,
            "build_id": self.build_id,
            "test_title": self.test_title,
        }
        fields.update({name: value for name, value in texts.items() if value})
        return fields


def _bool(value: bool) -> str:
    return "true" if value else "false"
