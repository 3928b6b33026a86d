"""The gateway: nginx from Debian's packages, one origin for the four services."""

from __future__ import annotations

import re
import subprocess
import urllib.request

from stacklib.core import Context, Server, apt_install

PORT = 8080

# Where each service listens on this machine (DESIGN.md §3).
UPSTREAMS = {
    "DMS_INGEST_UPSTREAM": "127.0.0.1:8001",
    "DMS_CLASSIFY_UPSTREAM": "127.0.0.1:8002",
    "DMS_PUBLISH_UPSTREAM": "127.0.0.1:8003",
    "DMS_SEARCH_UPSTREAM": "127.0.0.1:8004",
    "DMS_GATEWAY_LISTEN": f"127.0.0.1:{PORT}",
}


def render(template: str, values: dict[str, str]) -> str:
    """Fill ${DMS_...} placeholders, leaving nginx's own $variables alone."""
    def replace(match: re.Match[str]) -> str:
        return values[match.group(1)]
    return re.sub(r"\$\{(DMS_[A-Z_]+)\}", replace, template)


class Nginx(Server):
    name = "nginx"
    ports = (PORT,)
    start_timeout = 30.0

    def provision(self, ctx: Context) -> None:
        apt_install(["nginx-light"])

    def prepare(self, ctx: Context) -> None:
        conf = ctx.conf_dir(self.name)
        data = ctx.data_dir(self.name)
        template = (ctx.root / "deploy" / "gateway" / "dms.conf.template").read_text()
        (conf / "dms.conf").write_text(render(template, UPSTREAMS))
        temp = {k: data / k for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
        for path in temp.values():
            path.mkdir(exist_ok=True)
        (conf / "nginx.conf").write_text(f"""\
# Written by deploy/local/stack; the routes live in deploy/gateway/dms.conf.template.
daemon off;
worker_processes 2;
pid {data / 'nginx.pid'};
error_log stderr warn;
events {{ worker_connections 1024; }}
http {{
    access_log {ctx.log_path('nginx-access')};
    client_body_temp_path {temp['client_body']};
    proxy_temp_path {temp['proxy']};
    fastcgi_temp_path {temp['fastcgi']};
    uwsgi_temp_path {temp['uwsgi']};
    scgi_temp_path {temp['scgi']};
    include {conf / 'dms.conf'};
}}
""")

    def command(self, ctx: Context) -> list[str]:
        conf = ctx.conf_dir(self.name)
        return ["/usr/sbin/nginx", "-p", str(ctx.data_dir(self.name)), "-c", str(conf / "nginx.conf")]

    def healthy(self, ctx: Context) -> bool:
        with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/gateway/healthz", timeout=2) as r:
            return bool(r.status == 200)

    def version(self, ctx: Context) -> str:
        out = subprocess.run(["/usr/sbin/nginx", "-v"], capture_output=True, text=True).stderr
        return out.strip().replace("nginx version: ", "")
