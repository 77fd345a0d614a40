"""Pushing one product's share of an upload into DefectDojo (design section 2, step 4).

The share is written as a subset document in the scan's own format, so DefectDojo's parser
and deduplication handle it exactly as a native import. The target is the engagement named
`engagement_name` in the product (found or created) and, in it, the test keyed by scan type
and scope title: reimported when it exists, imported otherwise. Every attempt looks for the
test again, so a retry after an import that did land becomes a harmless reimport of the same
share and never a second test.

No database transaction is open while DefectDojo is called: the caller records the outcome
in a short transaction of its own afterwards.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Iterator, Mapping, Set
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from app import metrics
from app.dojo.client import DojoClient
from app.dojo.errors import DojoError, DojoNotFound, DojoPermissionDenied, DojoRejected
from app.dojo.models import ImportOptions, ImportResult
from app.dojo.retry import RetryPolicy
from app.formats.base import ScanFormat
from app.schemas import UploadOptions
from app.services.planning import write_subsets


@dataclass(frozen=True, slots=True)
class PushTarget:
    product_id: int
    test_title: str
    record_indexes: frozenset[int]
    engagement_id: int | None = None
    test_id: int | None = None
    """The test a lookup for the whole upload found (`known_targets`); tried first."""


@dataclass(frozen=True, slots=True)
class PushOutcome:
    status: Literal["pushed", "failed"]
    reason: Literal["forbidden", "push_failed"] | None = None
    engagement_id: int | None = None
    test_id: int | None = None
    push: Literal["import", "reimport"] | None = None
    statistics: dict[str, object] | None = None
    error: str | None = None


def import_options(scan_type: str, options: UploadOptions, test_title: str) -> ImportOptions:
    return ImportOptions(
        scan_type=scan_type,
        scan_date=options.scan_date,
        minimum_severity=options.minimum_severity,
        active=options.active,
        verified=options.verified,
        tags=tuple(options.tags),
        version=options.version,
        branch_tag=options.branch_tag,
        commit_hash=options.commit_hash,
        build_id=options.build_id,
        group_by=options.group_by,
        close_old_findings=options.close_old_findings,
        test_title=test_title,
    )


_SUBSET_SUFFIXES = {"xml": (".xml", ".nessus"), "csv": (".csv",), "json": (".json", ".jsonl")}
# DefectDojo's OpenVAS parser compares the extension case-sensitively and knows only .csv
# and .xml: "scan.XML" or "scan.nessus" would reach no parser (500).
_EXACT_SUFFIXES = {"openvas-xml": ".xml", "openvas-csv": ".csv"}


def subset_file_name(file_name: str, fmt: ScanFormat) -> str:
    """The name the subset is sent under. Some of DefectDojo's parsers choose their variant
    by extension (Tenable: .xml/.nessus or .csv; OpenVAS: .xml or .csv, case-sensitively;
    Qualys and Generic: .csv, else XML or JSON), so a file uploaded without the usual
    extension gets it appended ("report.csv" holding XML is sent as "report.csv.xml")."""
    if (exact := _EXACT_SUFFIXES.get(fmt.name)) is not None:
        return file_name if file_name.endswith(exact) else file_name + exact
    accepted = _SUBSET_SUFFIXES.get(fmt.name.rsplit("-", 1)[-1], ())
    if not accepted or file_name.lower().endswith(accepted):
        return file_name
    return file_name + accepted[0]


async def push_share(
    dojo: DojoClient,
    retry: RetryPolicy,
    *,
    fmt: ScanFormat,
    source: Path,
    file_name: str,
    scan_type: str,
    options: UploadOptions,
    target: PushTarget,
    subset_path: Path | None = None,
) -> PushOutcome:
    """Push one share with the caller's client; never raises for DefectDojo's answers.

    `subset_path` is the share's subset document when it was written beforehand together
    with the upload's other shares (`write_share_files`); otherwise it is written here.

    `target.engagement_id`, when already known (an earlier attempt recorded it, or it was
    looked up for the whole upload), skips the engagement lookup. A run that dies after
    creating the engagement finds it again by name.
    """
    started = time.perf_counter()
    with _subset_file(fmt, source, target, subset_path) as subset:
        try:
            outcome = await _push(
                dojo,
                retry,
                subset=subset,
                file_name=subset_file_name(file_name, fmt),
                scan_type=scan_type,
                options=options,
                target=target,
            )
        except (DojoPermissionDenied, DojoNotFound) as error:
            outcome = PushOutcome(
                status="failed",
                reason="forbidden",
                error=f"DefectDojo refused the push: {error.message}",
            )
        except DojoError as error:
            outcome = PushOutcome(status="failed", reason="push_failed", error=str(error))
    metrics.PUSH_SECONDS.observe(time.perf_counter() - started)
    metrics.PUSHES.labels(outcome.status, outcome.push or "none").inc()
    return outcome


def write_share_files(
    fmt: ScanFormat, source: Path, shares: Mapping[int, Set[int]], directory: Path
) -> dict[int, Path]:
    """Write the subset document of every share (key → record indexes) into `directory`.

    One pass over the scan for all shares where the format can (`planning.write_subsets`):
    writing each share's subset on its own reads the whole file once per product, which
    dominated an upload split over hundreds of products. CPU work: run it in a thread.
    """
    paths = {key: directory / f"share-{key}" for key in shares}
    with contextlib.ExitStack() as stack, source.open("rb") as original:
        outs = {key: stack.enter_context(path.open("wb")) for key, path in paths.items()}
        write_subsets(fmt, original, shares, outs)
    return paths


@contextlib.contextmanager
def _subset_file(
    fmt: ScanFormat, source: Path, target: PushTarget, written: Path | None
) -> Iterator[IO[bytes]]:
    """The share's subset document: the one written beforehand, else written now."""
    if written is not None:
        with written.open("rb") as handle:
            yield handle
        return
    with tempfile.TemporaryFile() as subset:
        with source.open("rb") as original:
            fmt.write_subset(original, set(target.record_indexes), subset)
        yield subset


async def _push(
    dojo: DojoClient,
    retry: RetryPolicy,
    *,
    subset: IO[bytes],
    file_name: str,
    scan_type: str,
    options: UploadOptions,
    target: PushTarget,
) -> PushOutcome:
    created = False
    if target.engagement_id is not None:
        engagement_id = target.engagement_id
    else:
        engagement_id, created = await retry.run(
            lambda: _engagement(dojo, target.product_id, options.engagement_name)
        )
    form = import_options(scan_type, options, target.test_title)
    # The first attempt trusts what is already known: an engagement created just now holds
    # no test, and a test found for the whole upload is reimported into. Every later attempt
    # looks the test up again, in case an import landed without its answer arriving.
    first = True

    async def attempt() -> tuple[Literal["import", "reimport"], ImportResult]:
        nonlocal first
        trusted, first = first, False
        if trusted and created:
            return "import", await dojo.import_scan(subset, file_name, form, engagement_id)
        if trusted and target.test_id is not None:
            with contextlib.suppress(DojoNotFound, DojoRejected):  # gone since: look it up
                return "reimport", await dojo.reimport_scan(subset, file_name, form, target.test_id)
        test = await dojo.find_test(engagement_id, target.test_title, scan_type)
        if test is None:
            return "import", await dojo.import_scan(subset, file_name, form, engagement_id)
        return "reimport", await dojo.reimport_scan(subset, file_name, form, test.id)

    kind, result = await retry.run(attempt)
    return PushOutcome(
        status="pushed",
        engagement_id=result.engagement_id or engagement_id,
        test_id=result.test_id,
        push=kind,
        statistics=result.statistics,
    )


async def _engagement(dojo: DojoClient, product_id: int, name: str) -> tuple[int, bool]:
    """The engagement's id, and whether it was created by this call."""
    found = await dojo.find_engagement(product_id, name)
    if found is not None:
        return found.id, False
    return (await dojo.create_engagement(product_id, name)).id, True


PREFETCH_MIN_SHARES = 8
"""Below this many pushes, looking targets up one push at a time costs less."""


@dataclass(frozen=True, slots=True)
class KnownTargets:
    """Where an upload's shares go, looked up once for all its pushes (`known_targets`)."""

    engagements: Mapping[int, int]
    """Product id → its engagement of the upload's engagement name."""
    test_title: str
    tests: Mapping[int, int]
    """Engagement id → its test titled `test_title`, of the upload's scan type."""


async def known_targets(
    dojo: DojoClient,
    retry: RetryPolicy,
    *,
    engagement_name: str,
    test_title: str,
    scan_type: str,
    shares: int,
) -> KnownTargets:
    """The engagements and tests of an upload's `shares` pushes, in one walk of each of
    DefectDojo's lists instead of a lookup per push. Empty when a walk would cost more
    requests than it saves, or when a list cannot be read: each push then looks up its own
    target, as it does for every product and engagement missing from the maps."""
    none = KnownTargets(engagements={}, test_title=test_title, tests={})
    if shares < PREFETCH_MIN_SHARES:
        return none
    max_pages = shares // PREFETCH_MIN_SHARES
    try:
        engagements = await retry.run(
            lambda: dojo.engagements_named(engagement_name, max_pages=max_pages)
        )
        if not engagements:
            return none
        tests = await retry.run(
            lambda: dojo.tests_titled(test_title, scan_type, max_pages=max_pages)
        )
    except DojoError:
        return none
    return KnownTargets(engagements=engagements, test_title=test_title, tests=tests or {})
