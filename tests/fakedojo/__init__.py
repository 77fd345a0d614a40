"""In-process DefectDojo API v2 test double (3.2 with Locations, and 2.58 legacy endpoints).

    state = FakeDojoState()
    admin = state.add_user("admin", is_superuser=True, is_staff=True)
    app = create_fakedojo(state, version="3.2")
    client = httpx.AsyncClient(transport=FakeDojoTransport(app), base_url="http://dojo")

It answers with the status codes, bodies and field names recorded from real DefectDojo
instances (shared/defectdojo), parses uploaded scans with its own parsers (`parsers`),
and scripts failures through `state.faults`.
"""

from tests.fakedojo.app import create_fakedojo
from tests.fakedojo.faults import CallRecord, FakeDojoTransport, Faults, LatencyModel
from tests.fakedojo.parsers import register_parser
from tests.fakedojo.seed import seed_state
from tests.fakedojo.state import FakeDojoState

__all__ = [
    "CallRecord",
    "FakeDojoState",
    "FakeDojoTransport",
    "Faults",
    "LatencyModel",
    "create_fakedojo",
    "register_parser",
    "seed_state",
]
