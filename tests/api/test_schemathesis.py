"""Property-based run of every operation in the OpenAPI spec: never a 500, and answers
conform to the documented status codes, content types and schemas."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from api.app import create_app
from api.deps import get_planner, get_routing
from api.routing import Routing
from api.security import Role, issue_key
from api.settings import Settings
from network.providers import HaversineProvider
from tests.api.conftest import seed
from tests.api.fakes import FakePlanner

KEY: dict[str, str] = {}
pytestmark = pytest.mark.slow  # ~30 s in all: 54 operations x 20 examples
# more examples per operation for a deeper run by hand: BINROUTE_SCHEMATHESIS_EXAMPLES=500
EXAMPLES = int(os.environ.get("BINROUTE_SCHEMATHESIS_EXAMPLES", "20"))


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    path: Path = tmp_path_factory.mktemp("schemathesis") / "st.db"
    cfg = Settings(
        database_url=f"sqlite:///{path}",
        scheduler_enabled=False,
        city="haversine",
        default_time_limit_s=1,
        max_time_limit_s=2,
    )
    app = create_app(cfg)
    fake = FakePlanner()
    app.dependency_overrides[get_planner] = lambda: fake
    app.dependency_overrides[get_routing] = lambda: Routing.static(HaversineProvider())
    with TestClient(app) as client:
        KEY["X-API-Key"] = issue_key(app.state.runtime.db, Role.ADMIN, "schemathesis")
        seed(client, KEY)
        client.post("/plans", json={"plan_date": "2026-11-25"}, headers=KEY)
        app.state.runtime.jobs.wait_idle(30)
        yield schemathesis.openapi.from_asgi("/openapi.json", app)
        app.state.runtime.jobs.wait_idle(30)


def _operations() -> list[tuple[str, str]]:
    """(path, METHOD) of every operation, read from a never-started app (no database use)."""
    spec = create_app(Settings(database_url="sqlite://", scheduler_enabled=False)).openapi()
    return [(path, method.upper()) for path, item in spec["paths"].items() for method in item]


@pytest.mark.parametrize(("path", "method"), _operations())
def test_no_server_errors(api_schema: Any, path: str, method: str) -> None:
    """Up to 20 generated requests (valid and invalid) per operation (``EXAMPLES``)."""
    strategy = api_schema[path][method].as_strategy()

    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    def run(case: Any) -> None:
        # All default checks (no 5xx, documented status codes and content types, responses
        # match their schemas) except "schema-valid data is accepted": cross-record rules
        # (unknown ids, paired window fields, path id = body id) are 422 by design.
        response = case.call_and_validate(
            headers=dict(KEY), excluded_checks=[positive_data_acceptance]
        )
        assert response.status_code < 500

    run()
