"""What an operator sees: metrics, request ids, the docs page offline, the settings table."""

from __future__ import annotations

import re

from app.settings import settings_table
from tests.conftest import REPO
from tests.e2e.conftest import NESSUS_SEVEN_HOSTS, World


def _metric(text: str, name: str, **labels: str) -> float:
    selector = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    pattern = re.escape(f"{name}{{{selector}}}" if labels else name) + r" ([0-9.e+-]+)"
    found = re.search(pattern, text)
    return float(found.group(1)) if found else 0.0


class TestMetrics:
    async def test_counts_pushes_and_dojo_calls_after_an_upload(self, world: World) -> None:
        product = world.product("Payments", world.alice)
        world.dojo.add_endpoint(product.id, "qa3app01")
        await world.refresh_index()
        before = (await world.client.get("/metrics")).text

        await world.upload(NESSUS_SEVEN_HOSTS)
        after = (await world.client.get("/metrics")).text

        pushed = {"status": "pushed", "push": "import"}
        assert _metric(after, "smart_upload_pushes_total", **pushed) == (
            _metric(before, "smart_upload_pushes_total", **pushed) + 1
        )
        imports = {"method": "POST", "status": "201"}
        assert _metric(after, "smart_upload_dojo_requests_total", **imports) > _metric(
            before, "smart_upload_dojo_requests_total", **imports
        )
        assert _metric(after, "smart_upload_index_endpoints") >= 1


class TestRequestIds:
    async def test_given_id_is_echoed_and_a_missing_one_made(self, world: World) -> None:
        given = await world.client.get("/health", headers={"X-Request-ID": "pipeline-42"})
        made = await world.client.get("/health")
        hostile = await world.client.get("/health", headers={"X-Request-ID": "a b\tc"})

        assert given.headers["x-request-id"] == "pipeline-42"
        assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])
        assert hostile.headers["x-request-id"] != "a b\tc"


class TestDocs:
    async def test_docs_page_uses_local_assets_at_both_paths(self, world: World) -> None:
        for page, schema in (
            ("/docs", "/openapi.json"),
            ("/smart-upload/docs", "/smart-upload/openapi.json"),
        ):
            html = (await world.client.get(page)).text
            assert "cdn" not in html.lower()
            assert f"'{schema}'" in html or f'"{schema}"' in html
            script = re.search(r'src="([^"]+swagger-ui-bundle\.js)"', html)
            assert script is not None
            asset = await world.client.get(script.group(1))
            assert asset.status_code == 200 and len(asset.content) > 100_000
            assert (await world.client.get(schema)).json()["info"]["title"]

    async def test_every_route_has_a_summary_and_a_tag(self, world: World) -> None:
        schema = (await world.client.get("/openapi.json")).json()
        for path, operations in schema["paths"].items():
            for method, operation in operations.items():
                assert operation.get("summary"), f"{method} {path} has no summary"
                assert operation.get("tags"), f"{method} {path} has no tag"


class TestReadme:
    def test_configuration_table_matches_the_settings(self) -> None:
        readme = (REPO / "README.md").read_text()
        section = readme.split("<!-- settings-table:start -->")[1].split(
            "<!-- settings-table:end -->"
        )[0]
        assert section.strip() == settings_table()
