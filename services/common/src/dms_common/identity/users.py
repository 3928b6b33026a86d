"""Refusing disabled users: the answer each service keeps from the ``dms.identity.changed`` stream.

A token stays valid for up to ten minutes after it was signed, so disabling an account must reach
every service faster than that. Each service folds the identity stream into its own table; the
dependencies in :mod:`dms_common.identity.deps` then ask a :class:`UserStatus` on every request
for the user's :class:`Standing`.

The answer fails closed: a user the service has never heard of, or one that was deleted (a
tombstone on the compacted topic), counts as disabled. A database-backed implementation should
also count a user as disabled while their office or division is disabled. A user whose password an
admin reset stands at ``PASSWORD_CHANGE`` until they set their own: every service then refuses
them everything but the password change itself.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from enum import StrEnum
from typing import Protocol, runtime_checkable

__all__ = ["CachedUserStatus", "InMemoryUserStatus", "Standing", "UserStatus"]


class Standing(StrEnum):
    """What a user's valid token may still do."""

    ACTIVE = "active"
    DISABLED = "disabled"  # disabled, deleted, unknown, or of a disabled office: nothing
    PASSWORD_CHANGE = "password_change"  # noqa: S105 - an admin reset it: only replace it


@runtime_checkable
class UserStatus(Protocol):
    """Port: whether a user's tokens must be refused."""

    async def standing(self, user_id: uuid.UUID) -> Standing:
        """Tell whether the user is active, disabled (or deleted, or unknown), or must first
        replace a password an admin reset."""
        ...

    async def is_disabled(self, user_id: uuid.UUID) -> bool:
        """Tell whether the user is disabled, deleted or unknown."""
        ...


class InMemoryUserStatus:
    """Keep user states in a dict: a fake for unit tests, and a building block for caches."""

    def __init__(self, *, unknown_is_disabled: bool = True) -> None:
        self._disabled: dict[uuid.UUID, bool] = {}
        self._password_change: set[uuid.UUID] = set()
        self._unknown_is_disabled = unknown_is_disabled

    def upsert(self, user_id: uuid.UUID, *, disabled: bool = False,
               must_change_password: bool = False) -> None:
        """Record the user's current state, as an ``identity.changed`` event of kind user says."""
        self._disabled[user_id] = disabled
        if must_change_password:
            self._password_change.add(user_id)
        else:
            self._password_change.discard(user_id)

    def enable(self, user_id: uuid.UUID) -> None:
        """Record the user as active."""
        self.upsert(user_id, disabled=False)

    def disable(self, user_id: uuid.UUID) -> None:
        """Record the user as disabled."""
        self.upsert(user_id, disabled=True)

    def delete(self, user_id: uuid.UUID) -> None:
        """Record the user as deleted; a deleted user stays refused even if unknowns are allowed."""
        self._disabled[user_id] = True

    async def standing(self, user_id: uuid.UUID) -> Standing:
        """The user's standing: disabled first, then a pending password change."""
        if self._disabled.get(user_id, self._unknown_is_disabled):
            return Standing.DISABLED
        if user_id in self._password_change:
            return Standing.PASSWORD_CHANGE
        return Standing.ACTIVE

    async def is_disabled(self, user_id: uuid.UUID) -> bool:
        """Tell whether the user is disabled, deleted or unknown."""
        return await self.standing(user_id) is Standing.DISABLED


class CachedUserStatus:
    """Remember another ``UserStatus``'s answers for a short time to spare it a query per request.

    The TTL bounds how long a disablement takes to bite (on top of the stream's own lag); keep it in
    seconds, far below the access-token lifetime.
    """

    def __init__(
        self,
        inner: UserStatus,
        ttl_seconds: float = 2.0,
        *,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl_seconds < 0:
            raise ValueError("ttl_seconds must not be negative")
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._inner = inner
        self._ttl = ttl_seconds
        self._max_entries = max_entries
        self._clock = clock
        # Insertion order doubles as age order, so the oldest entry is evicted first.
        self._entries: OrderedDict[uuid.UUID, tuple[float, Standing]] = OrderedDict()
        self._pending: dict[uuid.UUID, asyncio.Future[Standing]] = {}
        self._generation = 0

    async def standing(self, user_id: uuid.UUID) -> Standing:
        """The user's standing, from the cache while the answer is fresh."""
        now = self._clock()
        cached = self._entries.get(user_id)
        if cached is not None and now < cached[0]:
            return cached[1]
        # Many requests of one user arrive together when the answer expires: one asks, the
        # others wait for its answer.
        pending = self._pending.get(user_id)
        if pending is not None:
            return await asyncio.shield(pending)
        generation = self._generation
        pending = asyncio.ensure_future(self._inner.standing(user_id))
        self._pending[user_id] = pending
        try:
            standing = await asyncio.shield(pending)
        finally:
            if self._pending.get(user_id) is pending:
                del self._pending[user_id]
        if generation != self._generation:
            return standing  # invalidated meanwhile: the answer may predate the change
        self._entries.pop(user_id, None)
        self._entries[user_id] = (now + self._ttl, standing)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
        return standing

    async def is_disabled(self, user_id: uuid.UUID) -> bool:
        """Tell whether the user is disabled, from the cache while the answer is fresh."""
        return await self.standing(user_id) is Standing.DISABLED

    def invalidate(self, user_id: uuid.UUID | None = None) -> None:
        """Forget one user's cached answer, or all of them; call it when an identity event lands."""
        self._generation += 1
        if user_id is None:
            self._entries.clear()
            self._pending.clear()
        else:
            self._entries.pop(user_id, None)
            self._pending.pop(user_id, None)
