"""deploy/nginx/nginx.conf, DefectDojo's nginx configuration with Smart Upload in front.

Read for its structure, checked by `nginx -t`, and run: Debian's nginx with the file on
loopback, in front of a stand-in for the service (uvicorn) and one for DefectDojo's uwsgi
(the uwsgi protocol, as DefectDojo's image serves it), to see where each request lands.
Only the container-specific parts are changed for that run (see `loopback_config`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import socketserver
import struct
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.cli.standin import serve_asgi
from tests.deploy.nginxconf import Directive, parse

REPO = Path(__file__).resolve().parents[2]
CONF = REPO / "deploy" / "nginx" / "nginx.conf"
SERVICE_PREFIXES = ("/api/v2/smart_upload_import/", "/api/v2/smart_upload/", "/smart-upload/")
UPLOAD_PREFIXES = ("/api/v2/smart_upload_import/", "/smart-upload/")
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
needs_nginx = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed (Debian: apt-get install nginx)"
)


def server_block() -> Directive:
    return parse(CONF.read_text()).one("http").one("server")


def location(prefix: str) -> Directive:
    return server_block().one("location", prefix)


def headers_set(block: Directive) -> dict[str, str]:
    return {d.args[0].lower(): d.args[1] for d in block.all("proxy_set_header")}


def seconds(value: str | None) -> int:
    assert value is not None
    units = {"s": 1, "m": 60, "h": 3600}
    return int(value[:-1]) * units[value[-1]] if value[-1] in units else int(value)


def size_bytes(value: str | None) -> int:
    assert value is not None
    units = {"k": 1024, "m": 1024**2, "g": 1024**3}
    last = value[-1].lower()
    return int(value[:-1]) * units[last] if last in units else int(value)


class TestStructure:
    def test_the_service_upstream_is_the_compose_service(self) -> None:
        compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
        upstream = parse(CONF.read_text()).one("http").one("upstream", "smart_upload")
        host, port = upstream.one("server").args[0].split(":")

        assert host in compose["services"]
        assert "EXPOSE 8000" in (REPO / "Dockerfile").read_text()
        assert port == "8000"

    @pytest.mark.parametrize("prefix", SERVICE_PREFIXES)
    def test_service_prefixes_reach_the_service_unchanged(self, prefix: str) -> None:
        block = location(prefix)

        # No URI part after the upstream: nginx passes the request URI as it came.
        assert block.value("proxy_pass") == "http://smart_upload"
        assert headers_set(block) == {
            "connection": "",
            "host": "$http_host",
            "x-forwarded-for": "$remote_addr",
            "x-forwarded-proto": "$scheme",
            "x-forwarded-host": "$http_host",
            "x-forwarded-port": "$server_port",
        }
        # Keep-alive to the upstream needs HTTP/1.1 and no Connection header.
        assert block.value("proxy_http_version") == "1.1"
        assert seconds(block.value("proxy_read_timeout")) >= 900

    @pytest.mark.parametrize("prefix", UPLOAD_PREFIXES)
    def test_uploads_stream_to_the_service(self, prefix: str) -> None:
        block = location(prefix)
        dd_limit = parse(CONF.read_text()).one("http").value("client_max_body_size")

        assert block.value("proxy_request_buffering") == "off"
        assert size_bytes(block.value("client_max_body_size")) >= 2 * 1024**3
        assert size_bytes(block.value("client_max_body_size")) > size_bytes(dd_limit)

    def test_only_the_service_prefixes_go_to_the_service(self) -> None:
        to_service = [
            d.args[-1]
            for d in server_block().all("location")
            if d.value("proxy_pass") == "http://smart_upload"
        ]

        assert sorted(to_service) == sorted(SERVICE_PREFIXES)

    def test_everything_else_goes_to_defectdojos_uwsgi(self) -> None:
        # The files DefectDojo's entrypoint-nginx.sh writes from DD_UWSGI_PASS and
        # DD_UWSGI_HOST / DD_UWSGI_PORT, and the params file its image installs.
        root = location("/")
        upstream = parse(CONF.read_text()).one("http").one("upstream", "uwsgi_server")

        assert [d.args for d in root.all("include")] == [
            ["/run/defectdojo/uwsgi_pass"],
            ["/etc/nginx/wsgi_params"],
        ]
        assert upstream.value("include") == "/run/defectdojo/uwsgi_server"

    def test_keeps_what_defectdojos_image_relies_on(self) -> None:
        text = CONF.read_text()
        config = parse(text)

        assert server_block().value("listen") == "8080"
        assert config.value("pid") == "/var/run/defectdojo/nginx.pid"
        # entrypoint-nginx.sh uncomments these when metrics or their basic auth are asked.
        assert "#stub_status" in text
        assert "#auth_basic" in text


def loopback_config(root: Path, *, listen: int, service: int, dojo: int) -> Path:
    """The configuration as it runs in DefectDojo's nginx container, moved to loopback.

    The include files are written with what DefectDojo's entrypoint writes there (with
    127.0.0.1 for the uwsgi host), paths of the container go to `root`, and the service's
    host name to 127.0.0.1. Every substituted text must be present, so a change of the
    file that these replacements no longer fit fails here instead of testing something else.
    """
    (root / "run").mkdir()
    (root / "run" / "uwsgi_pass").write_text("uwsgi_pass uwsgi_server;\n")
    (root / "run" / "uwsgi_server").write_text(f"server 127.0.0.1:{dojo};\n")
    shutil.copy("/etc/nginx/uwsgi_params", root / "wsgi_params")
    (root / "html").mkdir()
    (root / "html" / "50x.html").write_text("error\n")
    temp = ""
    for kind in ("client_body", "proxy", "uwsgi", "fastcgi", "scgi"):
        (root / "tmp" / kind).mkdir(parents=True)
        (root / "tmp" / kind).chmod(0o777)  # nginx's workers may run as nobody
        temp += f"  {kind}_temp_path {root}/tmp/{kind};\n"
    text = CONF.read_text()
    for old, new in (
        ("pid /var/run/defectdojo/nginx.pid;", f"pid {root}/nginx.pid;"),
        ("listen 8080;", f"listen 127.0.0.1:{listen};"),
        ("server smart-upload:8000;", f"server 127.0.0.1:{service};"),
        ("/run/defectdojo/", f"{root}/run/"),
        ("/etc/nginx/wsgi_params", f"{root}/wsgi_params"),
        ("/var/log/nginx/", f"{root}/"),
        ("/usr/share/nginx/html", f"{root}/html"),
        ("http {\n", "http {\n" + temp),
    ):
        assert old in text, old
        text = text.replace(old, new)
    conf = root / "nginx.conf"
    conf.write_text(text)
    return conf


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return int(sock.getsockname()[1])


def nginx(conf: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert NGINX is not None
    command = [NGINX, "-p", str(conf.parent), "-e", str(conf.parent / "error.log")]
    return subprocess.run(  # noqa: S603 - fixed arguments
        [*command, "-c", str(conf), *args], capture_output=True, text=True, timeout=30
    )


@pytest.fixture
def nginx_root() -> Iterator[Path]:
    # Not under pytest's tmp_path: nginx's workers, run as nobody under root, must reach it.
    root = Path(tempfile.mkdtemp(prefix="smart-upload-nginx-"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@needs_nginx
def test_nginx_accepts_the_configuration(nginx_root: Path) -> None:
    conf = loopback_config(nginx_root, listen=free_port(), service=free_port(), dojo=free_port())

    result = nginx(conf, "-t")

    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


async def service_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Stand-in for Smart Upload: tells what request reached it."""
    assert scope["type"] == "http"
    digest, length, more = hashlib.sha256(), 0, True
    while more:
        message = await receive()
        digest.update(message.get("body", b""))
        length += len(message.get("body", b""))
        more = message.get("more_body", False)
    body = json.dumps({
        "upstream": "smart-upload",
        "method": scope["method"],
        "uri": scope["raw_path"].decode() + ("?" + scope["query_string"].decode()
                                             if scope["query_string"] else ""),
        "headers": {k.decode(): v.decode() for k, v in scope["headers"]},
        "body_length": length,
        "body_sha256": digest.hexdigest(),
    }).encode()  # fmt: skip
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


class UwsgiStandIn(socketserver.StreamRequestHandler):
    """Stand-in for DefectDojo's uwsgi: reads one uwsgi-protocol request, answers in HTTP."""

    def handle(self) -> None:
        _, size, _ = struct.unpack("<BHB", self.rfile.read(4))
        packet, variables = self.rfile.read(size), {}
        while packet:
            (key_size,) = struct.unpack("<H", packet[:2])
            key, packet = packet[2 : 2 + key_size].decode(), packet[2 + key_size :]
            (value_size,) = struct.unpack("<H", packet[:2])
            variables[key], packet = packet[2 : 2 + value_size].decode(), packet[2 + value_size :]
        body = self.rfile.read(int(variables.get("CONTENT_LENGTH") or 0))
        answer = json.dumps({
            "upstream": "defectdojo",
            "method": variables["REQUEST_METHOD"],
            "uri": variables["REQUEST_URI"],
            "body_sha256": hashlib.sha256(body).hexdigest(),
        }).encode()  # fmt: skip
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(answer)}"
        self.wfile.write(head.encode() + b"\r\n\r\n" + answer)


@pytest.fixture(scope="module")
def proxy() -> Iterator[httpx.Client]:
    """nginx with the configuration on loopback, in front of both stand-ins."""
    if NGINX is None:
        pytest.skip("nginx is not installed (Debian: apt-get install nginx)")
    root = Path(tempfile.mkdtemp(prefix="smart-upload-nginx-"))
    root.chmod(0o755)
    dojo = socketserver.ThreadingTCPServer(("127.0.0.1", 0), UwsgiStandIn)
    dojo.daemon_threads = True
    threading.Thread(target=dojo.serve_forever, daemon=True).start()
    listen = free_port()
    try:
        with serve_asgi(service_app) as service_url:
            service_port = int(service_url.rsplit(":", 1)[1])
            conf = loopback_config(
                root, listen=listen, service=service_port, dojo=dojo.server_address[1]
            )
            # Daemon mode: nginx returns once its listening socket is bound, so no waiting.
            started = nginx(conf)
            assert started.returncode == 0, started.stderr
            try:
                with httpx.Client(base_url=f"http://127.0.0.1:{listen}", timeout=30) as client:
                    yield client
            finally:
                nginx(conf, "-s", "stop")
    finally:
        dojo.shutdown()
        dojo.server_close()
        shutil.rmtree(root, ignore_errors=True)


@needs_nginx
class TestRouting:
    @pytest.mark.parametrize(
        "uri",
        [
            "/",
            "/login?next=/",
            "/api/v2/products/?limit=1",
            "/api/v2/smart_upload_importer/",
            "/api/v2/smart_uploads/",
            "/smart-uploads/x",
        ],
    )
    def test_other_paths_reach_defectdojo(self, proxy: httpx.Client, uri: str) -> None:
        answer = proxy.get(uri).json()

        assert answer == {
            "upstream": "defectdojo",
            "method": "GET",
            "uri": uri,
            "body_sha256": hashlib.sha256(b"").hexdigest(),
        }

    @pytest.mark.parametrize(
        "uri",
        [
            "/api/v2/smart_upload_import/",
            "/api/v2/smart_upload/uploads/7?page=2",
            "/api/v2/smart_upload/unassigned_findings/?upload=17&reason=no_match",
            "/smart-upload/",
            "/smart-upload/unassigned?q=ssl",
        ],
    )
    def test_service_paths_reach_the_service_with_forwarded_headers(
        self, proxy: httpx.Client, uri: str
    ) -> None:
        answer = proxy.get(uri, headers={"X-Forwarded-For": "203.0.113.9"}).json()
        origin = str(proxy.base_url).removeprefix("http://").rstrip("/")

        assert answer["upstream"] == "smart-upload"
        assert answer["uri"] == uri
        assert answer["headers"]["host"] == origin
        # The client's own X-Forwarded-For is replaced, not trusted.
        assert answer["headers"]["x-forwarded-for"] == "127.0.0.1"
        assert answer["headers"]["x-forwarded-proto"] == "http"
        assert answer["headers"]["x-forwarded-host"] == origin

    def test_a_scan_upload_reaches_the_service_whole(self, proxy: httpx.Client) -> None:
        scan = os.urandom(3 * 1024 * 1024)

        answer = proxy.post("/api/v2/smart_upload_import/", content=scan).json()

        assert answer["upstream"] == "smart-upload"
        assert answer["method"] == "POST"
        assert answer["body_sha256"] == hashlib.sha256(scan).hexdigest()

    def test_a_post_to_defectdojo_reaches_it_whole(self, proxy: httpx.Client) -> None:
        body = os.urandom(2 * 1024 * 1024)

        answer = proxy.post("/api/v2/import-scan/", content=body).json()

        assert answer["upstream"] == "defectdojo"
        assert answer["body_sha256"] == hashlib.sha256(body).hexdigest()

    def test_the_pages_prefix_without_slash_redirects(self, proxy: httpx.Client) -> None:
        answer = proxy.get("/smart-upload")

        assert answer.status_code == 301
        assert answer.headers["location"].endswith("/smart-upload/")

    def test_nginx_health_is_answered_by_nginx(self, proxy: httpx.Client) -> None:
        answer = proxy.get("/nginx_health")

        assert answer.status_code == 200
        assert answer.text == "Born to be alive!\n"
