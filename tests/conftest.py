"""Fixtures shared by every test layer."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.support.servers import Endpoints, restart_native, server_endpoints


@pytest.fixture(scope="session")
def servers() -> Iterator[Endpoints]:
    """The real servers' endpoints (testcontainers where Docker answers, else native)."""
    yield from server_endpoints()


@pytest.fixture(scope="session")
def restart_server(servers: Endpoints) -> Callable[[str], None]:
    """Restart one real server by stack name ("kafka", "s3", "opensearch", "postgres")."""
    if not servers.native:  # pragma: no cover - containers are restarted by their tests
        pytest.fail("restart tests need the native stack")
    return restart_native
