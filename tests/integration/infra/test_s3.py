"""The S3 server (versitygw) through the `minio` SDK the services use.

Round trip with stat and a presigned download, a streaming multipart upload of
unknown length, and data kept over a restart.
"""

from __future__ import annotations

import hashlib
import io
import os
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import BinaryIO, cast

import pytest
from minio import Minio
from minio.error import S3Error

from tests.support.servers import Endpoints

MIB = 1024 * 1024


@pytest.fixture
def client(servers: Endpoints) -> Minio:
    # The region is given so the SDK does not ask the server for the bucket's location first.
    return Minio(servers.s3_endpoint, access_key=servers.s3_access_key,
                 secret_key=servers.s3_secret_key, secure=False, region="us-east-1")


@pytest.fixture
def key(client: Minio, servers: Endpoints) -> Iterator[str]:
    """A unique object key, removed after the test whatever happened."""
    name = f"tests/s3/{uuid.uuid4().hex}/original"
    yield name
    client.remove_object(servers.s3_bucket, name)


class UnsizedReader:
    """Random bytes whose total the reader never reveals, like a request body being streamed."""

    def __init__(self, total: int) -> None:
        self._left = total
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        chunk = os.urandom(self._left if size < 0 else min(size, self._left))
        self._left -= len(chunk)
        self.digest.update(chunk)
        return chunk


def test_put_get_stat_presign(client: Minio, servers: Endpoints, key: str) -> None:
    body = os.urandom(256 * 1024) + "Berita acara rapat pleno — Banjarmasin".encode()
    result = client.put_object(servers.s3_bucket, key, io.BytesIO(body), len(body),
                               content_type="application/pdf",
                               metadata={"x-amz-meta-sha256": hashlib.sha256(body).hexdigest()})
    assert result.etag

    response = client.get_object(servers.s3_bucket, key)
    try:
        assert response.read() == body
    finally:
        response.close()
        response.release_conn()

    stat = client.stat_object(servers.s3_bucket, key)
    assert stat.size == len(body)
    assert stat.content_type == "application/pdf"
    assert stat.etag == result.etag
    assert stat.metadata is not None
    assert stat.metadata.get("x-amz-meta-sha256") == hashlib.sha256(body).hexdigest()

    url = client.presigned_get_object(servers.s3_bucket, key, expires=timedelta(minutes=5))
    # No proxy: a proxy variable in the environment must not intercept loopback traffic.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=30) as presigned:
        assert presigned.status == 200
        assert presigned.read() == body

    # A forged signature must be refused, or the presigned check above proves nothing.
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    assert "X-Amz-Signature" in query
    query["X-Amz-Signature"] = "0" * 64
    forged = parts._replace(query=urllib.parse.urlencode(query)).geturl()
    with pytest.raises(urllib.error.HTTPError) as refused:
        opener.open(forged, timeout=30)
    assert refused.value.code == 403


def test_streaming_put_of_unknown_length_is_multipart(client: Minio, servers: Endpoints,
                                                      key: str) -> None:
    total = 12 * MIB + 12345  # three parts of 5 MiB, the last one short
    reader = UnsizedReader(total)
    # The SDK only calls read(); the cast tells mypy so.
    result = client.put_object(servers.s3_bucket, key, cast(BinaryIO, reader), length=-1,
                               part_size=5 * MIB)
    # A multipart ETag is "<md5 of the part md5s>-<number of parts>".
    assert result.etag is not None
    assert result.etag.endswith("-3"), result.etag

    stat = client.stat_object(servers.s3_bucket, key)
    assert stat.size == total
    response = client.get_object(servers.s3_bucket, key)
    try:
        digest = hashlib.sha256()
        for chunk in response.stream(MIB):
            digest.update(chunk)
    finally:
        response.close()
        response.release_conn()
    assert digest.hexdigest() == reader.digest.hexdigest()


@pytest.mark.restart
def test_restart_keeps_data(client: Minio, servers: Endpoints, key: str,
                            restart_server: Callable[[str], None]) -> None:
    body = os.urandom(64 * 1024)
    client.put_object(servers.s3_bucket, key, io.BytesIO(body), len(body),
                      content_type="text/plain")
    restart_server("s3")
    response = client.get_object(servers.s3_bucket, key)
    try:
        assert response.read() == body
    finally:
        response.close()
        response.release_conn()
    assert client.stat_object(servers.s3_bucket, key).content_type == "text/plain"


def test_missing_object_is_an_s3_error(client: Minio, servers: Endpoints) -> None:
    with pytest.raises(S3Error) as missing:
        client.stat_object(servers.s3_bucket, f"tests/s3/{uuid.uuid4().hex}/absent")
    assert missing.value.code in {"NoSuchKey", "ResponseCode404"}  # HEAD has no body to name it
