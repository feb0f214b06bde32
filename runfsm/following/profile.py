"""How each lifecycle preset is followed by default: its polling policy, the lifetime assumed, the grace period.

A watcher or a scheduler gives up on an object that has not ended at its deadline: the
object's own ``expires_at`` (runs and batches carry one) plus a grace period, or, until a
response names ``expires_at``, the time watching began plus the lifetime the lifecycle's API
gives its objects. :func:`profile` is what a watcher made with ``lifecycle=`` uses when the
caller sets no ``policy`` or ``grace``.

>>> from runfsm.lifecycles import BATCH_LIFECYCLE
>>> profile(BATCH_LIFECYCLE).lifetime / 3600, profile(BATCH_LIFECYCLE).grace / 60
(24.0, 60.0)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runfsm.following.backoff import BATCH_DEFAULT, DEFAULT, RESPONSE_DEFAULT, PollPolicy
from runfsm.lifecycles import BATCH_LIFECYCLE, RESPONSE_LIFECYCLE, RUN_LIFECYCLE

if TYPE_CHECKING:
    from collections.abc import Mapping

    from runfsm.lifecycle import Lifecycle

__all__ = ["DEFAULT_EXPIRY", "DEFAULT_GRACE", "PROFILES", "Profile", "profile"]

DEFAULT_GRACE = 60.0
"""Seconds past the run's ``expires_at`` before a watcher gives up on a run that has not ended."""
DEFAULT_EXPIRY = 600.0
"""The API's run lifetime (``expires_at - created_at``), assumed until a response says otherwise."""


@dataclass(frozen=True, slots=True)
class Profile:
    """The defaults of following one lifecycle."""

    policy: PollPolicy
    """The polling policy (:data:`~runfsm.following.backoff.BY_LIFECYCLE`)."""
    lifetime: float
    """Seconds an object may live, assumed until a response carries its ``expires_at``."""
    grace: float
    """Seconds past ``expires_at`` (or the assumed lifetime) before following gives up."""


PROFILES: Mapping[str, Profile] = {
    RUN_LIFECYCLE.key: Profile(DEFAULT, DEFAULT_EXPIRY, DEFAULT_GRACE),
    # No expires_at on a response; the guide describes tasks of many minutes [R2]. A judgement:
    # an hour, then ten minutes' grace; pass timeout= for longer work.
    RESPONSE_LIFECYCLE.key: Profile(RESPONSE_DEFAULT, 3600.0, 600.0),
    # expires_at is the end of the 24-hour completion window [R4]; expiring or finalizing past it
    # may take a while, so an hour's grace.
    BATCH_LIFECYCLE.key: Profile(BATCH_DEFAULT, 86_400.0, 3600.0),
}
"""The profile of each preset, by its key."""

_FALLBACK = PROFILES[RUN_LIFECYCLE.key]


def profile(lifecycle: Lifecycle[Any]) -> Profile:
    """The profile of ``lifecycle``: its preset's, or the run's numbers for a lifecycle runfsm does not ship."""
    return PROFILES.get(lifecycle.key, _FALLBACK)
