"""The words the pages use for the service's codes, in one place so every page agrees."""

from __future__ import annotations

from pydantic import ValidationError

SEVERITIES = ("Critical", "High", "Medium", "Low", "Info")

# DefectDojo's Finding_Group.GROUP_BY_OPTIONS, in its order and with its labels.
GROUP_BY = (
    ("component_name", "Component Name"),
    ("component_name+component_version", "Component Name + Version"),
    ("file_path", "File path"),
    ("finding_title", "Finding Title"),
    ("vuln_id_from_tool", "Vulnerability ID from Tool"),
)

REASONS = {
    "no_match": "No product matches",
    "ambiguous": "Several products match",
    "no_host": "No usable host",
    "forbidden": "Not allowed to push",
    "push_failed": "Push failed",
}

UPLOAD_STATUSES = {
    "queued": "Queued",
    "processing": "Processing",
    "completed": "Completed",
    "completed_with_errors": "Completed with errors",
    "failed": "Failed",
}

RULE_KINDS = {"cidr": "CIDR range", "hostname_glob": "Host name pattern"}

LEVELS = {
    "assignment": "a product assigned to this host earlier",
    "endpoint_port": "a DefectDojo endpoint on this host and port",
    "endpoint_host": "a DefectDojo endpoint on this host",
    "rule": "a routing rule",
}


def validation_message(error: ValidationError) -> str:
    """Pydantic's errors as one sentence a person can act on."""
    parts = []
    for item in error.errors():
        where = " ".join(str(p).replace("_", " ") for p in item["loc"])
        message = str(item["msg"]).removeprefix("Value error, ")
        parts.append(f"{where.capitalize()}: {message}" if where else message)
    return "; ".join(parts)
