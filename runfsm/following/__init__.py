"""Following live runs with few requests: the watcher, the scheduler, polling policies, the client protocol.

:class:`Watcher` / :class:`AsyncWatcher` follow one run (poll or stream), :class:`Scheduler` /
:class:`AsyncScheduler` many under one request budget. Both carry out the steps of one
sans-I/O :class:`FollowCore`; the API is reached through the small :class:`RunsAPI` protocol
(the openai adapters, and the Azure AI Foundry ``AgentsClient`` ones, ship here).

Both take ``lifecycle=`` (the run by default) and follow background responses and batches the
same way, with each lifecycle's :class:`Profile` (policy, lifetime, grace), through the
:class:`ObjectsAPI` protocol (:class:`OpenAIResponses`, :class:`OpenAIBatches`).
"""

from runfsm.following.azure import AsyncAzureAgentsRuns, AzureAgentsRuns, translate_azure_error
from runfsm.following.backoff import (
    BATCH_DEFAULT,
    BY_LIFECYCLE,
    DEFAULT,
    ECONOMY,
    PRESETS,
    RESPONSE_DEFAULT,
    RESPONSIVE,
    ByStatus,
    Capped,
    Exponential,
    Fixed,
    Jitter,
    PollContext,
    PollPolicy,
    RetryPolicy,
    Schedule,
)
from runfsm.following.budget import TokenBucket
from runfsm.following.client import (
    AsyncOpenAIRuns,
    AsyncRunsAPI,
    OpenAIRuns,
    Reply,
    RunsAPI,
    ToolOutput,
    parse_hint,
    translate_error,
)
from runfsm.following.core import DEFAULT_EXPIRY, DEFAULT_GRACE, FollowCore, WatchResult, follow_tracker
from runfsm.following.errors import (
    HandlerFailed,
    HandlerTimeout,
    RequestsFailed,
    SubmitInDoubt,
    ToolOutputsRejected,
    UnexpectedRunStatus,
    WatchError,
    WatchTimeout,
)
from runfsm.following.objects import ObjectPoller, PollResult, PollTimeout, apoll_object, poll_object
from runfsm.following.profile import PROFILES, Profile, profile
from runfsm.following.resources import (
    AsyncObjectsAPI,
    AsyncObjectStreamsAPI,
    AsyncOpenAIBatches,
    AsyncOpenAIResponses,
    ObjectsAPI,
    ObjectStreamsAPI,
    OpenAIBatches,
    OpenAIResponses,
)
from runfsm.following.scheduler import AsyncScheduler, ScheduledHandler, Scheduler
from runfsm.following.watcher import ActionHandler, AsyncActionHandler, AsyncWatcher, Watcher

__all__ = [
    "BATCH_DEFAULT",
    "BY_LIFECYCLE",
    "DEFAULT",
    "DEFAULT_EXPIRY",
    "DEFAULT_GRACE",
    "ECONOMY",
    "PRESETS",
    "PROFILES",
    "RESPONSE_DEFAULT",
    "RESPONSIVE",
    "ActionHandler",
    "AsyncActionHandler",
    "AsyncAzureAgentsRuns",
    "AsyncObjectStreamsAPI",
    "AsyncObjectsAPI",
    "AsyncOpenAIBatches",
    "AsyncOpenAIResponses",
    "AsyncOpenAIRuns",
    "AsyncRunsAPI",
    "AsyncScheduler",
    "AsyncWatcher",
    "AzureAgentsRuns",
    "ByStatus",
    "Capped",
    "Exponential",
    "Fixed",
    "FollowCore",
    "HandlerFailed",
    "HandlerTimeout",
    "Jitter",
    "ObjectPoller",
    "ObjectStreamsAPI",
    "ObjectsAPI",
    "OpenAIBatches",
    "OpenAIResponses",
    "OpenAIRuns",
    "PollContext",
    "PollPolicy",
    "PollResult",
    "PollTimeout",
    "Profile",
    "Reply",
    "RequestsFailed",
    "RetryPolicy",
    "RunsAPI",
    "Schedule",
    "ScheduledHandler",
    "Scheduler",
    "SubmitInDoubt",
    "TokenBucket",
    "ToolOutput",
    "ToolOutputsRejected",
    "UnexpectedRunStatus",
    "WatchError",
    "WatchResult",
    "WatchTimeout",
    "Watcher",
    "apoll_object",
    "follow_tracker",
    "parse_hint",
    "poll_object",
    "profile",
    "translate_azure_error",
    "translate_error",
]
