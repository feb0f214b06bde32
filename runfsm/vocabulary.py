"""The words every lifecycle is written in: state kinds, the state base class, and who triggers an edge.

The bottom of the package: it imports nothing from runfsm, so the exceptions, the status
parsers and the lifecycle model can all name these without an import circle.
"""

from __future__ import annotations

import enum
from typing import TypeVar

__all__ = ["LifecycleState", "StateKind", "Trigger"]


class StateKind(enum.Enum):
    """What a state means to a client."""

    CLIENT = "client"
    """Client-side only: the run does not exist yet, or the create stream just began."""
    ACTIVE = "active"
    """The server is working; keep watching."""
    PAUSED = "paused"
    """The server waits for the client (tool outputs)."""
    TERMINAL = "terminal"
    """Final: nothing follows."""


_S = TypeVar("_S", bound="LifecycleState")


class LifecycleState(enum.IntEnum):
    """Base of state enums: each member is ``(ordinal, wire value, kind, stream event name)``.

    ``RunStatus`` is the one runfsm ships; another lifecycle (Responses background mode,
    Batch) is another subclass plus another edge table, not another code path.
    """

    wire: str | None
    kind: StateKind
    event: str | None

    def __new__(cls, ordinal: int, wire: str | None, kind: StateKind, event: str | None) -> LifecycleState:
        """Unpack a member's tuple: ordinal, wire value, kind, stream event name."""
        member = int.__new__(cls, ordinal)
        member._value_ = ordinal
        member.wire = wire
        member.kind = kind
        member.event = event
        return member

    @property
    def is_terminal(self) -> bool:
        """True for the final statuses."""
        return self.kind is StateKind.TERMINAL

    @property
    def is_paused(self) -> bool:
        """True where the server waits for the client."""
        return self.kind is StateKind.PAUSED

    @property
    def is_active(self) -> bool:
        """True while the server is working on the run (not paused, not final, not client-side)."""
        return self.kind is StateKind.ACTIVE

    @classmethod
    def terminal_states(cls: type[_S]) -> frozenset[_S]:
        """The members whose kind is terminal."""
        return frozenset(m for m in cls if m.kind is StateKind.TERMINAL)

    @property
    def label(self) -> str:
        """How runfsm writes the state for people: the wire value (``in_progress``), else the name in lower case.

        States with no wire value are client-side ones: the Assistants run's ``null`` (not
        created yet) and ``created`` (the create stream's first event). Every message, report
        and diagram uses this one rendering.
        """
        return self.wire if self.wire is not None else self.name.lower()

    def __str__(self) -> str:
        return self.label

    def __repr__(self) -> str:
        return f"<{type(self).__name__}.{self.name}: {int(self)}>"


class Trigger(enum.Enum):
    """Who causes an edge."""

    CREATE = "create"
    """The client's create call (``runs.create``, ``create_and_poll``, ``stream``)."""
    SERVER = "server"
    """The server, on its own."""
    SUBMIT_TOOL_OUTPUTS = "submit_tool_outputs"
    """The client's ``submit_tool_outputs`` call."""
    CANCEL = "cancel"
    """The client's ``cancel`` call."""

    @property
    def is_client_call(self) -> bool:
        """True for the calls a poller must have made (and recorded) to explain a jump."""
        return self in (Trigger.SUBMIT_TOOL_OUTPUTS, Trigger.CANCEL)
