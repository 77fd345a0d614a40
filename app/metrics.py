"""Prometheus metrics of the service, served at /metrics.

Counters are per process (each uvicorn or worker process exposes its own); the index
gauges are read at scrape time from the process's in-memory index.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import Counter, Gauge, Histogram

UPLOADS = Counter(
    "smart_upload_uploads_total", "Uploads that reached an end state, by status", ["status"]
)
RECORDS = Counter(
    "smart_upload_records_total",
    "Records of finished uploads: routed, dropped, or unassigned by reason",
    ["outcome"],
)
PUSHES = Counter(
    "smart_upload_pushes_total", "Product pushes into DefectDojo, by result", ["status", "push"]
)
PUSH_SECONDS = Histogram(
    "smart_upload_push_seconds",
    "Time of one product push (subset writing and DefectDojo's import)",
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900),
)
DOJO_REQUESTS = Counter(
    "smart_upload_dojo_requests_total",
    "Requests to DefectDojo by method and answer status ('error' when no answer came)",
    ["method", "status"],
)
DOJO_SECONDS = Histogram(
    "smart_upload_dojo_request_seconds", "Duration of DefectDojo requests", ["method"]
)
INDEX_ENDPOINTS = Gauge("smart_upload_index_endpoints", "Endpoints in the match index")
INDEX_AGE = Gauge(
    "smart_upload_index_age_seconds", "Seconds since the match index was last built or loaded"
)


def track_index(size: Callable[[], int], built_at: Callable[[], float]) -> None:
    """Read the index gauges from the live index whenever /metrics is scraped."""
    INDEX_ENDPOINTS.set_function(lambda: float(size()))
    INDEX_AGE.set_function(lambda: time.time() - built_at())


def observe_dojo_request(method: str, status: int | None, seconds: float) -> None:
    DOJO_REQUESTS.labels(method, str(status) if status is not None else "error").inc()
    DOJO_SECONDS.labels(method).observe(seconds)
