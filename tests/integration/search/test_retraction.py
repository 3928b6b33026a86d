"""A retracted document in search, against the real servers: internal only, status retracted.

Events go through the service's own handlers as its consumer runs them; the
retraction comes before, between and after the others, and twice.
"""

from __future__ import annotations

import uuid

from dms_common.identity.tokens import Role
from dms_search.index import IndexKind
from tests.integration.search.support import TEXT, Env, ids, publish_document
from tests.unit.search.events import OFFICE, classified, extracted, published, received
from tests.unit.search.test_retraction import retracted


async def _staff_statuses(env: Env) -> dict[str, str]:
    _, staff = env.iso.user(role=Role.STAFF, office_code=OFFICE)
    await env.iso.register_users(env.app.core)
    found = (await env.internal(staff, q="pemilihan")).json()
    return {hit["id"]: hit["status"] for hit in found["hits"]}


async def test_retraction_after_publication_leaves_public_and_stays_internal(env: Env) -> None:
    doc = uuid.uuid4()
    await publish_document(env, doc)
    await env.refresh()
    assert ids(await env.public(q="pemilihan")) == {str(doc)}

    first = retracted(doc, 2)
    await env.deliver(first, first, retracted(doc, 2))  # the same event twice, then a copy
    await env.refresh()

    assert env.stored(IndexKind.PUBLIC, doc) is None
    assert ids(await env.public(q="pemilihan")) == set()
    row = await env.row(doc)
    assert row is not None
    assert (row.status, row.published, row.retracted_seq, row.revision) == (
        "retracted", False, 2, 5)
    internal = env.stored(IndexKind.INTERNAL, doc)
    assert internal is not None
    assert (internal["_version"], internal["_source"]["status"]) == (5, "retracted")
    assert await _staff_statuses(env) == {str(doc): "retracted"}


async def test_retraction_first_gives_the_same_index_as_retraction_last(env: Env) -> None:
    early, late = uuid.uuid4(), uuid.uuid4()
    for doc in (early, late):
        await env.put_text(doc, TEXT)
    # Early: the retraction overtakes every other event (ingest's read-model lags).
    await env.deliver(retracted(early, 2), published(early, 1), classified(early),
                      extracted(early), received(early), retracted(early, 2))
    await env.deliver(received(late), extracted(late), classified(late), published(late, 1),
                      retracted(late, 2))
    await env.refresh()

    assert ids(await env.public()) == set()
    for doc in (early, late):
        assert env.stored(IndexKind.PUBLIC, doc) is None
        internal = env.stored(IndexKind.INTERNAL, doc)
        assert internal is not None and internal["_source"]["status"] == "retracted"
    early_source = env.stored(IndexKind.INTERNAL, early)
    late_source = env.stored(IndexKind.INTERNAL, late)
    assert early_source is not None and late_source is not None
    volatile = {"id", "document_id", "received_at"}  # built a moment apart
    assert ({k: v for k, v in early_source["_source"].items() if k not in volatile}
            == {k: v for k, v in late_source["_source"].items() if k not in volatile})
    assert await _staff_statuses(env) == {str(early): "retracted", str(late): "retracted"}
