"""deploy/defectdojo/create_service_token.py, run as the compose stack runs it (`manage.py
shell --command`) in a Django project with DefectDojo's token model (Django REST framework's
authtoken, which DefectDojo's API keys are) on SQLite, in a subprocess per run."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "defectdojo" / "create_service_token.py"
# The uid the file is handed to: Smart Upload's (10001) when root may give it away.
OWNER_UID = 10001 if os.geteuid() == 0 else os.getuid()

PROJECT = """
import json, sys
import django
from django.conf import settings
settings.configure(
    INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "rest_framework",
                    "rest_framework.authtoken"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": sys.argv[1]}},
    USE_TZ=True,
)
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
if sys.argv[2] == "run":
    call_command("shell", command=open(sys.argv[3]).read())
else:
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token
    user = get_user_model().objects.get(username=sys.argv[3])
    print(json.dumps({"superuser": user.is_superuser, "staff": user.is_staff,
                      "active": user.is_active, "password": user.has_usable_password(),
                      "token": Token.objects.get(user=user).key,
                      "users": get_user_model().objects.count()}))
"""


def django(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [sys.executable, "-c", PROJECT, str(tmp_path / "dojo.sqlite3"), *args],
        env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def create_token(tmp_path: Path, token_file: Path, user: str = "smart-upload") -> str:
    return django(
        tmp_path, "run", str(SCRIPT),
        env={
            "SMART_UPLOAD_TOKEN_FILE": str(token_file),
            "SMART_UPLOAD_TOKEN_FILE_UID": str(OWNER_UID),
            "SMART_UPLOAD_SERVICE_USER": user,
        },
    )  # fmt: skip


def test_creates_a_superuser_without_password_and_writes_its_token(tmp_path: Path) -> None:
    token_file = tmp_path / "secrets" / "dd_api_token"
    token_file.parent.mkdir()

    said = create_token(tmp_path, token_file)

    user = json.loads(django(tmp_path, "inspect", "smart-upload"))
    assert user["superuser"] and user["staff"] and user["active"]
    assert not user["password"]
    assert token_file.read_text() == user["token"]
    assert user["token"] not in said
    mode = token_file.stat()
    assert stat.S_IMODE(mode.st_mode) == 0o400
    assert mode.st_uid == OWNER_UID
    assert [p.name for p in token_file.parent.iterdir()] == ["dd_api_token"]


def test_running_again_keeps_the_user_and_its_token(tmp_path: Path) -> None:
    token_file = tmp_path / "dd_api_token"
    create_token(tmp_path, token_file)
    first = token_file.read_text()

    create_token(tmp_path, token_file)

    user = json.loads(django(tmp_path, "inspect", "smart-upload"))
    assert token_file.read_text() == first == user["token"]
    assert user["users"] == 1


def test_the_user_name_is_configurable(tmp_path: Path) -> None:
    token_file = tmp_path / "dd_api_token"

    create_token(tmp_path, token_file, user="svc-index")

    assert json.loads(django(tmp_path, "inspect", "svc-index"))["token"] == token_file.read_text()
