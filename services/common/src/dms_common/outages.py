"""Telling an outage (a server that does not answer) from a failure of our own.

Consumers hold a partition through an outage instead of parking its events; the APIs answer
503 with `Retry-After` instead of 500.
"""

from __future__ import annotations

# Exceptions that say "a server did not answer", by the name of their type, so that this
# module needs none of the client libraries: asyncpg, SQLAlchemy, opensearch-py, urllib3
# (under minio) and aiokafka.
_TRANSIENT_NAMES = frozenset({
    "OperationalError", "InterfaceError", "DisconnectionError",  # SQLAlchemy
    "PostgresConnectionError", "CannotConnectNowError", "ConnectionDoesNotExistError",
    "ConnectionFailureError", "TooManyConnectionsError", "AdminShutdownError",
    "CrashShutdownError", "InternalClientError",  # asyncpg
    "ConnectionTimeout",  # opensearch-py (its ConnectionError has the builtin's name)
    "MaxRetryError", "ProtocolError", "NewConnectionError", "ReadTimeoutError",  # urllib3
    "KafkaConnectionError", "KafkaTimeoutError", "NodeNotReadyError",
    "RequestTimedOutError", "NotLeaderForPartitionError", "LeaderNotAvailableError",
})
_TRANSIENT_HTTP = frozenset({429, 502, 503, 504})


def is_transient(exc: BaseException) -> bool:
    """Whether `exc` (or what caused it) means a server was unreachable, not a bad event."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (ConnectionError, TimeoutError)):
            return True
        if type(current).__name__ in _TRANSIENT_NAMES:
            return True
        if getattr(current, "connection_invalidated", False):  # SQLAlchemy DBAPIError
            return True
        status = getattr(current, "status_code", None)  # opensearch-py TransportError
        if isinstance(status, int) and status in _TRANSIENT_HTTP:
            return True
        if type(current).__name__ == "ConnectionError" and \
                type(current).__module__.startswith("opensearchpy"):
            return True
        current = current.__cause__ or current.__context__
    return False
