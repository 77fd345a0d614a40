"""deploy/postgres/20-smart-upload.sh run against the local PostgreSQL as the postgres image
runs it at first start: the service's role and database appear, and each application can
reach its own database only. Everything it creates is dropped afterwards."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import ADMIN_URL

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "postgres" / "20-smart-upload.sh"
ADMIN = urlsplit(ADMIN_URL)
PG_ENV = {
    **os.environ,
    "PGHOST": ADMIN.hostname or "127.0.0.1",
    "PGPORT": str(ADMIN.port or 5432),
    "PGUSER": ADMIN.username or "postgres",
}

pytestmark = pytest.mark.skipif(
    shutil.which("psql") is None
    or subprocess.run(["pg_isready", "-q"], env=PG_ENV, check=False).returncode != 0,  # noqa: S607
    reason="needs psql and the local PostgreSQL (scripts/setup.sh starts it)",
)


def psql(
    sql: str, *, database: str, user: str | None = None, password: str = "", **names: str
) -> str:
    """Run SQL (from standard input, so psql fills in the :'name' of `names`)."""
    env = {**PG_ENV, "PGUSER": user or PG_ENV["PGUSER"], "PGPASSWORD": password}
    variables = [f"--set={name}={value}" for name, value in names.items()]
    result = subprocess.run(  # noqa: S603
        ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-tA", "-d", database, *variables],  # noqa: S607
        input=sql, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(result.stderr)
    return result.stdout.strip()


@pytest.fixture
def names() -> Iterator[dict[str, str]]:
    """Unique names for DefectDojo's database and the service's role and database."""
    suffix = secrets.token_hex(4)
    created = {
        "dd_db": f"dd_init_test_{suffix}",
        "su_db": f"su_init_test_{suffix}",
        "su_user": f"su_init_test_{suffix}",
        # Quotes and spaces: the script must pass the password on as a literal.
        "su_password": f"it's a p@ss {suffix}",
    }
    admin_db = ADMIN.path.lstrip("/") or "postgres"
    psql('CREATE DATABASE :"db"', database=admin_db, db=created["dd_db"])
    yield created
    for statement, name in (
        ('DROP DATABASE IF EXISTS :"name"', created["su_db"]),
        ('DROP DATABASE IF EXISTS :"name"', created["dd_db"]),
        ('DROP ROLE IF EXISTS :"name"', created["su_user"]),
    ):
        psql(statement, database=admin_db, name=name)


def run_script(names: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {
        **PG_ENV,
        "POSTGRES_USER": PG_ENV["PGUSER"],
        "POSTGRES_DB": names["dd_db"],
        "SMART_UPLOAD_DB_NAME": names["su_db"],
        "SMART_UPLOAD_DB_USER": names["su_user"],
        "SMART_UPLOAD_DB_PASSWORD": names["su_password"],
    }
    return subprocess.run(  # noqa: S603 - the script under test
        [str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60
    )


def test_creates_the_services_role_and_database(names: dict[str, str]) -> None:
    result = run_script(names)

    assert result.returncode == 0, result.stderr
    as_service = {"user": names["su_user"], "password": names["su_password"]}
    psql("CREATE TABLE probe (id int)", database=names["su_db"], **as_service)
    owner = psql(
        "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = :'db'",
        database=names["dd_db"],
        db=names["su_db"],
    )
    assert owner == names["su_user"]
    password_ok = psql(
        "SELECT rolpassword IS NOT NULL FROM pg_authid WHERE rolname = :'role'",
        database=names["dd_db"],
        role=names["su_user"],
    )
    assert password_ok == "t"


def test_each_application_reaches_its_own_database_only(names: dict[str, str]) -> None:
    assert run_script(names).returncode == 0

    with pytest.raises(RuntimeError, match="permission denied for database"):
        psql("SELECT 1", database=names["dd_db"], user=names["su_user"])
    public = psql(
        "SELECT has_database_privilege('public', :'db', 'CONNECT')",
        database=names["dd_db"],
        db=names["su_db"],
    )
    assert public == "f"


def test_stops_at_the_first_error(names: dict[str, str]) -> None:
    assert run_script(names).returncode == 0

    again = run_script(names)

    assert again.returncode != 0
    assert "already exists" in again.stderr
