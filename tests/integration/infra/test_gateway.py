"""The nginx gateway answers on 8080 and routes each path prefix to its service."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from tests.support.servers import ROOT

GATEWAY = "http://127.0.0.1:8080"


def test_gateway_answers_its_own_health() -> None:
    response = httpx.get(f"{GATEWAY}/gateway/healthz", timeout=5)
    assert response.status_code == 200
    assert response.text.strip() == "ok"
    assert "nginx/" not in response.headers.get("server", "nginx/")  # server_tokens off


def test_every_design_prefix_is_routed_to_exactly_one_service() -> None:
    template = (Path(ROOT) / "deploy" / "gateway" / "dms.conf.template").read_text()
    pattern = r"location\s+=?\s*(\S+)\s*\{\s*proxy_pass http://dms_(\w+);"
    routes = dict(re.findall(pattern, template))
    expected = {
        "/api/v1/auth/": "ingest", "/api/v1/offices": "ingest", "/api/v1/divisions": "ingest",
        "/api/v1/users": "ingest", "/api/v1/documents": "ingest", "/staf/": "ingest",
        # Beyond DESIGN §3: the audit log of identity and documents, kept by ingest.
        "/api/v1/audit": "ingest",
        "/api/v1/review/": "classify", "/api/v1/exemptions": "classify", "/admin/": "classify",
        "/api/v1/public/": "publish", "/": "publish",
        "/api/v1/search": "search", "/api/v1/search/": "search", "/cari": "search",
    }
    assert routes == expected
