"""The Dockerfile (no hadolint or Docker engine here): read for its stages, base image pin,
user, health check and command; its entrypoint script run for real with a stand-in
`alembic`; and the wheel it installs built, to see it carries every file of the package."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ENTRYPOINT_SCRIPT = REPO / "deploy" / "entrypoint.sh"


@dataclass
class Instruction:
    keyword: str
    arguments: str

    def exec_form(self) -> list[str]:
        """The arguments of the exec (JSON array) form; any other form fails the test."""
        argv = json.loads(self.arguments)
        assert isinstance(argv, list), f"{self.keyword} is not in exec form"
        return [str(part) for part in argv]


def instructions() -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for line in (REPO / "Dockerfile").read_text().splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        pending += line.rstrip().removesuffix("\\") + " " if line.rstrip().endswith("\\") else line
        if not line.rstrip().endswith("\\"):
            logical.append(" ".join(pending.split()))
            pending = ""
    parsed = []
    for line in logical:
        keyword, _, arguments = line.partition(" ")
        parsed.append(Instruction(keyword.upper(), arguments))
    return parsed


def stages() -> dict[str, list[Instruction]]:
    """Instructions by stage name (the `AS` of each FROM), FROM included."""
    result: dict[str, list[Instruction]] = {}
    current: list[Instruction] | None = None
    for instruction in instructions():
        if instruction.keyword == "FROM":
            name = instruction.arguments.split()[-1]
            assert " AS " in f" {instruction.arguments.upper()} ", "every stage is named"
            current = result.setdefault(name, [])
        if current is not None:
            current.append(instruction)
    return result


def global_args() -> dict[str, str]:
    """ARG defaults declared before the first FROM (usable in FROM lines)."""
    values = {}
    for instruction in instructions():
        if instruction.keyword == "FROM":
            break
        if instruction.keyword == "ARG":
            name, _, default = instruction.arguments.partition("=")
            values[name] = default
    return values


def final_stage() -> list[Instruction]:
    return list(stages().values())[-1]


def of(stage: list[Instruction], keyword: str) -> list[Instruction]:
    return [i for i in stage if i.keyword == keyword]


def test_multi_stage_build_from_a_pinned_slim_python() -> None:
    bases = []
    for stage in stages().values():
        image = stage[0].arguments.split()[0]
        bases.append(re.sub(r"\$\{(\w+)\}", lambda m: global_args()[m.group(1)], image))

    assert len(bases) >= 2
    for base in bases:
        assert re.fullmatch(r"python:3\.11\.\d+-slim(-[a-z]+)?", base), base


def test_build_tools_stay_in_the_build_stage() -> None:
    build_commands = " ".join(i.arguments for i in of(stages()["builder"], "RUN"))
    final = final_stage()
    final_commands = " ".join(i.arguments for i in of(final, "RUN"))

    assert "build-essential" in build_commands
    assert "pip wheel" in build_commands
    assert "apt-get" not in final_commands
    assert not re.search(r"\b(gcc|build-essential|make|git|curl|wget)\b", final_commands)
    # The final stage installs the build stage's wheels only, without an index, and
    # mounts them instead of copying them into a layer.
    [install] = [i for i in of(final, "RUN") if "pip install" in i.arguments]
    assert "--mount=type=bind,from=builder,source=/wheels" in install.arguments
    assert "--no-index" in install.arguments


def test_runs_as_a_created_unprivileged_user() -> None:
    final = final_stage()
    [user] = of(final, "USER")
    position = final.index(user)
    created = " ".join(i.arguments for i in of(final, "RUN"))

    assert user.arguments not in ("root", "0", "0:0")
    assert f'useradd --system --uid "${{APP_UID}}" --gid {user.arguments}' in created
    assert of(final, "ARG")[0].arguments == "APP_UID=10001"
    assert all(final.index(i) > position for i in of(final, "CMD") + of(final, "ENTRYPOINT"))


def test_health_check_asks_health_with_python_only() -> None:
    [check] = of(final_stage(), "HEALTHCHECK")
    _, _, command = check.arguments.partition(" CMD ")
    argv = Instruction("CMD", command).exec_form()

    assert argv[0] == "python"
    assert "urllib.request.urlopen('http://127.0.0.1:8000/health'" in argv[2]
    assert "curl" not in check.arguments
    assert "wget" not in check.arguments


def test_entrypoint_migrates_then_serves_with_uvicorn_behind_a_proxy() -> None:
    final = final_stage()
    [entrypoint] = of(final, "ENTRYPOINT")
    [command] = of(final, "CMD")
    [copy] = [i for i in of(final, "COPY") if "deploy/entrypoint.sh" in i.arguments]
    [expose] = of(final, "EXPOSE")

    assert copy.arguments.split()[-1].endswith("/" + entrypoint.exec_form()[0])
    assert "--chmod=0755" in copy.arguments
    assert command.exec_form() == [
        "uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers",  # noqa: S104
    ]  # fmt: skip
    assert expose.arguments == "8000"
    # uvicorn's own variable: which proxies' X-Forwarded-* headers are trusted.
    assert "FORWARDED_ALLOW_IPS=127.0.0.1" in " ".join(i.arguments for i in of(final, "ENV"))


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore keeps `path` out of the build context (last match wins)."""
    verdict = False
    parts = path.split("/")
    for pattern in patterns:
        negated = pattern.startswith("!")
        pattern = pattern.removeprefix("!").rstrip("/")
        for depth in range(1, len(parts) + 1):
            if fnmatch.fnmatchcase("/".join(parts[:depth]), pattern):
                verdict = not negated
    return verdict


def test_copied_sources_exist_and_are_in_the_build_context() -> None:
    patterns = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    sources = []
    for stage in stages().values():
        for copy in of(stage, "COPY"):
            words = [w for w in copy.arguments.split() if not w.startswith("--")]
            if "--from=" not in copy.arguments:
                sources += words[:-1]

    assert set(sources) >= {"pyproject.toml", "app/", "alembic.ini", "alembic/"}
    for source in sources:
        assert (REPO / source).exists(), source
        assert not ignored(source.rstrip("/"), patterns), source
    for kept_out in (".git", ".venv", "tests/cli/test_import.py", "app/__pycache__/x.pyc"):
        assert ignored(kept_out, patterns), kept_out


def run_entrypoint(
    tmp_path: Path, *, migrate: str | None = None, alembic_status: int = 0
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """deploy/entrypoint.sh with a stand-in `alembic` that logs its arguments."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    alembic = bin_dir / "alembic"
    alembic.write_text(
        f'#!/bin/sh\necho "alembic $*" >> {shlex.quote(str(log))}\nexit {alembic_status}\n'
    )
    alembic.chmod(0o755)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}"}
    if migrate is not None:
        env["SMART_UPLOAD_MIGRATE"] = migrate
    command = f'echo "command $*" >> {shlex.quote(str(log))}'
    result = subprocess.run(  # noqa: S603 - the script under test
        [str(ENTRYPOINT_SCRIPT), "sh", "-c", command, "sh", "serve", "--port", "8000"],
        env=env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    return result, log.read_text().splitlines() if log.exists() else []


class TestEntrypointScript:
    def test_migrates_then_runs_the_command(self, tmp_path: Path) -> None:
        result, calls = run_entrypoint(tmp_path)

        assert result.returncode == 0, result.stderr
        assert calls == ["alembic upgrade head", "command serve --port 8000"]

    def test_a_failed_migration_stops_the_start(self, tmp_path: Path) -> None:
        result, calls = run_entrypoint(tmp_path, alembic_status=1)

        assert result.returncode != 0
        assert calls == ["alembic upgrade head"]

    def test_migrations_can_be_left_to_another_container(self, tmp_path: Path) -> None:
        result, calls = run_entrypoint(tmp_path, migrate="false")

        assert result.returncode == 0, result.stderr
        assert calls == ["command serve --port 8000"]


def test_the_installed_wheel_carries_every_file_of_the_package(tmp_path: Path) -> None:
    """The image installs the project's wheel, not its source tree: a file under app/ that
    the wheel leaves out (a template, a static asset) is missing from the image."""
    source = tmp_path / "src"
    source.mkdir()
    shutil.copy(REPO / "pyproject.toml", source)
    shutil.copytree(REPO / "app", source / "app", ignore=shutil.ignore_patterns("__pycache__"))
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path / "out"),
         str(source)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if result.returncode != 0:
        pytest.fail(f"pip wheel failed:\n{result.stderr}")
    [wheel] = (tmp_path / "out").glob("*.whl")
    in_wheel = {n for n in zipfile.ZipFile(wheel).namelist() if n.startswith("app/")}
    in_source = {
        p.relative_to(source).as_posix() for p in (source / "app").rglob("*") if p.is_file()
    }

    assert in_source - in_wheel == set()
