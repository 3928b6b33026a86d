"""The real servers of the native stack and DMS's own processes, in start order."""

from stacklib.core import Server
from stacklib.servers.kafka import Kafka
from stacklib.servers.nginx import Nginx
from stacklib.servers.opensearch import OpenSearch
from stacklib.servers.postgres import Postgres
from stacklib.servers.s3 import S3
from stacklib.servers.services import service_processes

# The real servers; `stack up servers` starts just these.
INFRA: list[Server] = [Postgres(), S3(), Kafka(), OpenSearch()]
SERVERS: list[Server] = [*INFRA, *service_processes(), Nginx()]
GROUPS: dict[str, list[str]] = {
    "servers": [s.name for s in INFRA],
    "services": [s.name for s in service_processes()],
}
