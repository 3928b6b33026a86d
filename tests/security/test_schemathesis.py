"""Schemathesis against the four services' OpenAPI schemas, on the running stack.

Generated requests, valid and invalid, for every operation, sent as an office admin (the widest
role that both reads and writes documents): no answer may be a server error, and every answer
that the schema documents must match it. Examples per operation: `DMS_FUZZ_EXAMPLES` (12).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance

from tests.support.stack import GATEWAY, SERVICE_PORTS, admin_credentials

EXAMPLES = int(os.environ.get("DMS_FUZZ_EXAMPLES", "12"))
CHECKS = [not_a_server_error, response_schema_conformance]


def _schema(service: str) -> schemathesis.BaseSchema:
    port = SERVICE_PORTS[service]
    schema = schemathesis.openapi.from_url(f"http://127.0.0.1:{port}/openapi.json")
    # Logging out or rotating would end the token the rest of the run uses.
    return schema.exclude(path_regex=r"/auth/(logout|refresh|password)$")


@pytest.fixture(scope="session")
def admin_headers() -> Iterator[dict[str, str]]:
    with httpx.Client(base_url=GATEWAY, timeout=30) as client:
        root = client.post("/api/v1/auth/token", data=dict(zip(
            ("username", "password"), admin_credentials(), strict=True))).json()["access_token"]
        username, password = "fuzzadmin", "Fuzz-Admin-2026!"
        client.post("/api/v1/users", headers={"Authorization": f"Bearer {root}"}, json={
            "username": username, "password": password, "full_name": "Admin Uji Fuzz",
            "role": "office_admin", "office_code": "6309"})
        token = client.post("/api/v1/auth/token",
                            data={"username": username, "password": password})
        assert token.status_code == 200, token.text
        yield {"Authorization": f"Bearer {token.json()['access_token']}"}


FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck), phases=[Phase.generate])


def _fuzz(service: str, headers: dict[str, str]) -> None:
    """Every operation, valid then invalid requests; one report of every failure at the end."""
    failures: list[str] = []
    operations = 0
    for result in _schema(service).get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an invalid schema raises here
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @FUZZ
            def run(case: schemathesis.Case[Any]) -> None:
                case.call_and_validate(headers=headers, checks=CHECKS)

            try:
                run()
            except Unsatisfiable:
                continue  # no parameter to make invalid: nothing negative to send
            except (Exception, BaseExceptionGroup) as error:
                failures.append(f"{operation.method.upper()} {operation.path} ({mode.value}): "
                                f"{str(error)[:600]}")
    assert operations > 0, f"{service} publishes no operation"
    assert not failures, f"{len(failures)} of {operations} operations failed:\n" + \
        "\n\n".join(failures)


@pytest.mark.parametrize("service", list(SERVICE_PORTS))
def test_no_server_error_and_no_answer_outside_the_schema(
        service: str, admin_headers: dict[str, str]) -> None:
    _fuzz(service, admin_headers)
