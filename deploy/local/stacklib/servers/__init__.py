"""The real servers of the native stack, in start order."""

from stacklib.core import Server
from stacklib.servers.kafka import Kafka
from stacklib.servers.nginx import Nginx
from stacklib.servers.opensearch import OpenSearch
from stacklib.servers.postgres import Postgres
from stacklib.servers.s3 import S3

SERVERS: list[Server] = [Postgres(), S3(), Kafka(), OpenSearch(), Nginx()]
