"""Action jobs on the Unassigned Findings page: the result messages of the three actions,
and what the list shows of a job — its progress while it runs, then the same message a
request's answer gives.

The page runs a job it queued itself, after its answer has gone out (as Add Findings does
with an upload): the job is claimed under a lease, so should this process die another
worker resumes it.
"""

from __future__ import annotations

from typing import Any

from app.schemas import ActionJobOut, AssignOut, DisregardOut
from app.services import action_jobs
from app.services.auth import Caller
from app.services.context import Context
from app.store import actions as jobs

Message = tuple[str, str, list[dict[str, Any]]]
"""A flash message: kind (success, warning, error), title, lines (text, optional href)."""

VERBS = {"assign": "Assigning", "create_product": "Assigning", "disregard": "Disregarding"}


def result_message(answer: AssignOut | DisregardOut, dd_url: str) -> Message:
    """What the page says of an action's answer: per product, where its findings went."""
    if isinstance(answer, DisregardOut):
        return (
            "success",
            f"Disregarded {answer.disregarded} finding(s).",
            [{"text": "A later upload of the same findings shows them again."}],
        )
    lines: list[dict[str, Any]] = []
    for result in answer.results:
        name = result.product_name or f"product {result.product_id}"
        if result.status == "pushed":
            lines.append(
                {
                    "text": f"{name}: {result.records} finding(s) pushed to test {result.test_id}",
                    "href": f"{dd_url}/test/{result.test_id}",
                }
            )
        else:
            lines.append(
                {"text": f"{name}: {result.records} finding(s) not pushed — {result.error}"}
            )
    failed = any(result.status == "failed" for result in answer.results)
    title = f"Assigned {answer.assigned} finding(s)."
    if failed:
        title += " Some pushes failed; those findings stay in the list with DefectDojo's message."
    return "warning" if failed else "success", title, lines


async def run_job(ctx: Context, job_id: int, claim: str) -> None:
    """Run a job the page queued and claimed; the job records its own end (status, error),
    which the list's poll shows."""
    await action_jobs.run(ctx, job_id, claim=claim)


async def action_of(ctx: Context, caller: Caller, action_id: int) -> ActionJobOut | None:
    """The user's action job `action_id`; None for someone else's or one that does not exist."""
    if not 1 <= action_id <= 2**63 - 1:
        return None
    async with ctx.sessions() as session:
        job = await jobs.get_for_owner(session, job_id=action_id, owner_id=caller.owner_filter)
    return action_jobs.job_out(job) if job else None


def action_context(job: ActionJobOut, dd_url: str, list_url: str) -> dict[str, Any]:
    """What `_action_status.html` shows: progress while the job runs, then its result."""
    kind, title, lines = result_message(job.result, dd_url) if job.result else ("", "", [])
    if job.status == "failed":
        kind, title = "error", f"The action stopped: {job.error}"
    return {
        "job": job,
        "final": job.status in action_jobs.FINAL_STATUSES,
        "verb": VERBS[job.kind],
        "message": {"kind": kind, "title": title, "lines": lines},
        "list_url": list_url,
    }
