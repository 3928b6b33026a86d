"""An isolated copy of DMS's namespaces on the shared real servers.

Each test that runs services in-process gets its own Kafka topics (a prefix),
database schemas (a suffix), OpenSearch indices (a prefix), bucket and token key pair,
so tests never see each other's records nor those of a running stack.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import uuid
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar
from uuid import UUID

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from minio import Minio
from opensearchpy import OpenSearch

from dms_common.backup import libpq_url
from dms_common.db.uow import Actor
from dms_common.events import IdentityChanged, IdentityChangedPayload, IdentityKind, Topic
from dms_common.identity.projection import apply_identity_changed
from dms_common.identity.tokens import Role, TokenIssuer, generate_keypair
from dms_common.runtime import Core
from tests.support.servers import Endpoints

S = TypeVar("S")


@dataclass
class Isolated:
    servers: Endpoints
    tag: str
    private_key: str
    public_key: str
    users: dict[UUID, dict[str, Any]] = field(default_factory=dict)

    @property
    def topic_prefix(self) -> str:
        return f"t{self.tag}."

    @property
    def schema_suffix(self) -> str:
        return f"_t{self.tag}"

    @property
    def index_prefix(self) -> str:
        return f"t{self.tag}-dms"

    @property
    def bucket(self) -> str:
        return f"dms-t{self.tag}"

    def settings_kwargs(self) -> dict[str, Any]:
        return {
            "database_url": self.servers.database_url,
            "kafka_bootstrap": self.servers.kafka_bootstrap,
            "s3_endpoint": self.servers.s3_endpoint,
            "s3_access_key": self.servers.s3_access_key,
            "s3_secret_key": self.servers.s3_secret_key,
            "s3_bucket": self.bucket,
            "opensearch_url": self.servers.opensearch_url,
            "jwt_public_key": self.public_key,
            "kafka_topic_prefix": self.topic_prefix,
            "db_schema_suffix": self.schema_suffix,
            "opensearch_index_prefix": self.index_prefix,
            "consumer_backoff_seconds": 0.05,
            "consumer_retries": 2,
        }

    def settings(self, cls: type[S], **extra: Any) -> S:
        return cls(**{**self.settings_kwargs(), **extra})

    def token(self, *, role: Role, office_code: str, user_id: UUID | None = None,
              permissions: tuple[str, ...] = (), division_id: UUID | None = None) -> str:
        issuer = TokenIssuer(self.private_key, access_ttl=timedelta(minutes=10))
        return issuer.issue_access(user_id=user_id or uuid.uuid4(), role=role,
                                   office_code=office_code, division_id=division_id,
                                   permissions=permissions)

    def user(self, *, role: Role, office_code: str, disabled: bool = False) -> tuple[UUID, str]:
        """A user (remember to `await iso.register_users(core)`) and a token for them."""
        user_id = uuid.uuid4()
        self.users[user_id] = {"role": role.value, "office_code": office_code,
                               "disabled": disabled}
        return user_id, self.token(role=role, office_code=office_code, user_id=user_id)

    async def register_users(self, core: Core) -> None:
        """Put the users into a service's identity projection, as identity.changed would."""
        async with core.uow() as uow:
            for user_id, info in self.users.items():
                event = IdentityChanged.build(
                    entity_id=user_id, office_code=info["office_code"], seq=1,
                    payload=IdentityChangedPayload(
                        kind=IdentityKind.USER, disabled=info["disabled"],
                        fields={"username": f"u-{user_id.hex[:6]}", "role": info["role"],
                                "office_code": info["office_code"]}))
                await apply_identity_changed(event, uow)
            await uow.audit(actor=Actor.system("test"), action="seed_users",
                            subject_type="test", subject_id=self.tag)


async def _topics(servers: Endpoints, prefix: str, *, create: bool) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=servers.kafka_bootstrap)
    await admin.start()
    try:
        names = [prefix + t.value for t in Topic] + [prefix + t.dlq for t in Topic]
        if create:
            await admin.create_topics([
                NewTopic(name, 1 if name.endswith(".dlq") else 3, 1) for name in names])
        else:
            await admin.delete_topics(names)
    finally:
        await admin.close()


@asynccontextmanager
async def isolated(servers: Endpoints) -> AsyncIterator[Isolated]:
    tag = uuid.uuid4().hex[:8]
    private, public = generate_keypair()
    iso = Isolated(servers=servers, tag=tag, private_key=private, public_key=public)
    await _topics(servers, iso.topic_prefix, create=True)
    try:
        yield iso
    finally:
        await _topics(servers, iso.topic_prefix, create=False)
        client = OpenSearch(hosts=[servers.opensearch_url])
        try:
            client.indices.delete(index=f"{iso.index_prefix}-*", ignore_unavailable=True)
        finally:
            client.close()
        await asyncio.to_thread(_remove_bucket, servers, iso.bucket)
        await asyncio.to_thread(drop_schemas, servers.database_url,
                                f"%\\_{iso.schema_suffix.removeprefix('_')}")


# Every schema a test migrated (`<service>_t<tag>`) and its runtime role. A lock timeout, so
# a connection the test leaked cannot hang the cleanup; what is left is reported, not fatal.
_DROP_SCHEMAS = r"""
SET lock_timeout = '5s';
SET dms.cleanup_pattern = :'pattern';
DO $$
DECLARE s text;
BEGIN
  FOR s IN SELECT nspname FROM pg_namespace
           WHERE nspname LIKE current_setting('dms.cleanup_pattern') LOOP
    EXECUTE format('DROP SCHEMA %I CASCADE', s);
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dms_' || s || '_app') THEN
      EXECUTE format('DROP OWNED BY %I', 'dms_' || s || '_app');
      EXECUTE format('DROP ROLE %I', 'dms_' || s || '_app');
    END IF;
  END LOOP;
END $$;
"""


def drop_schemas(database_url: str, pattern: str) -> None:
    """Drop the schemas whose names match the LIKE `pattern`, and their runtime roles."""
    # Only ever a test's own names: ending in its random tag, never a service's live schema.
    if not re.fullmatch(r"%?[a-z0-9_\\]*[0-9a-f]{8,}", pattern):
        raise ValueError(f"not a test schema pattern: {pattern!r}")
    done = subprocess.run(
        ["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-v", f"pattern={pattern}",
         "-d", libpq_url(database_url)],
        input=_DROP_SCHEMAS, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        warnings.warn(f"test schemas {pattern} were not dropped: {done.stderr.strip()}",
                      stacklevel=2)


def _remove_bucket(servers: Endpoints, bucket: str) -> None:
    """Empty and remove the test's own bucket (the stack's sweeper never sees its objects)."""
    client = Minio(servers.s3_endpoint, access_key=servers.s3_access_key,
                   secret_key=servers.s3_secret_key, secure=False)
    if not client.bucket_exists(bucket):
        return
    for item in client.list_objects(bucket, recursive=True):
        if item.object_name:
            client.remove_object(bucket, item.object_name)
    client.remove_bucket(bucket)
