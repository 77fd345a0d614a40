"""Run the DefectDojo double as a real HTTP server (benchmarks, browser tests).

    python -m tests.fakedojo --port 8081 [--seed-file seed.json] [--latency] [--version 2.58]

The seed file format is documented in `tests.fakedojo.seed`. Without a seed file the
server starts with one superuser `admin` / `admin` whose token is printed at start.
`--latency` turns on the `LatencyModel` (DefectDojo's import time, from the recordings).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import uvicorn

from tests.fakedojo.app import create_fakedojo
from tests.fakedojo.context import VERSIONS
from tests.fakedojo.faults import LatencyModel
from tests.fakedojo.seed import seed_state
from tests.fakedojo.state import FakeDojoState


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fakedojo", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--seed-file", type=Path)
    parser.add_argument("--latency", action="store_true")
    parser.add_argument("--version", choices=VERSIONS, default="3.2")
    args = parser.parse_args(argv)
    state = FakeDojoState()
    if args.seed_file is not None:
        seed_state(state, json.loads(args.seed_file.read_text(encoding="utf-8")))
    else:
        admin = state.add_user("admin", password="admin", is_superuser=True, is_staff=True)
        print(f"fakedojo: user admin, password admin, token {admin.token}")
    app = create_fakedojo(
        state, version=args.version, latency=LatencyModel() if args.latency else None
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
