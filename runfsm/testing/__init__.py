"""The testing kit: hypothesis strategies, the stateful machine, the fake API, a corpus simulator, the pytest plugin.

One importable wing, as ``structlog.testing`` and ``hypothesis.extra`` are. Its names load on
first use, so importing it (the pytest plugin does, at start-up) costs nothing: hypothesis comes
with the strategies and the stateful machine, openai and the web server with the fake.

- ``runfsm.testing.strategies``: statuses, legal and illegal histories, run objects, stream events;
- ``runfsm.testing.stateful``: :class:`LifecycleMachine` and its presets (:class:`RunLifecycleMachine`,
  :class:`ResponseLifecycleMachine`, :class:`BatchLifecycleMachine`), one object moved along while your client acts;
- ``runfsm.testing.fake``: a fake Assistants API the real ``openai`` client talks to, on a virtual clock;
- ``runfsm.testing.fake.webhooks``: signed webhook deliveries to a loopback receiver, with delivery faults;
- ``runfsm.testing.simulate``: realistic corpora in every format ``runfsm validate`` reads;
- ``runfsm.testing.pytest_plugin``: fixtures for the fake (registered by the ``pytest11`` entry point).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runfsm._lazy import lazy_exports

if TYPE_CHECKING:
    from runfsm.testing.fake import (
        DEFAULT_SCRIPT,
        FAKE_BASE_URL,
        STUCK,
        FakeAssistants,
        FakeAssistantsServer,
        FakeResponse,
        Fault,
        RecordedRequest,
        RunScript,
        VirtualClock,
    )
    from runfsm.testing.simulate import (
        CORPUS_FORMATS,
        CorpusFormat,
        SimulatedRun,
        simulate_run,
        simulate_runs,
        write_corpus,
    )
    from runfsm.testing.stateful import (
        BatchLifecycleMachine,
        LifecycleMachine,
        ResponseLifecycleMachine,
        RunLifecycleMachine,
        machine_for,
    )
    from runfsm.testing.strategies import (
        PollEntry,
        illegal_histories,
        observe_entries,
        poll_histories,
        run_dicts,
        runs,
        statuses,
        stream_events,
        stream_histories,
    )

_HOMES = {
    **dict.fromkeys(
        [
            "DEFAULT_SCRIPT",
            "FAKE_BASE_URL",
            "STUCK",
            "FakeAssistants",
            "FakeAssistantsServer",
            "FakeResponse",
            "Fault",
            "RecordedRequest",
            "RunScript",
            "VirtualClock",
        ],
        "runfsm.testing.fake",
    ),
    **dict.fromkeys(
        ["CORPUS_FORMATS", "CorpusFormat", "SimulatedRun", "simulate_run", "simulate_runs", "write_corpus"],
        "runfsm.testing.simulate",
    ),
    **dict.fromkeys(
        [
            "BatchLifecycleMachine",
            "LifecycleMachine",
            "ResponseLifecycleMachine",
            "RunLifecycleMachine",
            "machine_for",
        ],
        "runfsm.testing.stateful",
    ),
    **dict.fromkeys(
        [
            "PollEntry",
            "illegal_histories",
            "observe_entries",
            "poll_histories",
            "run_dicts",
            "runs",
            "statuses",
            "stream_events",
            "stream_histories",
        ],
        "runfsm.testing.strategies",
    ),
}

__getattr__, __dir__ = lazy_exports(__name__, _HOMES)

__all__ = [
    "CORPUS_FORMATS",
    "DEFAULT_SCRIPT",
    "FAKE_BASE_URL",
    "STUCK",
    "BatchLifecycleMachine",
    "CorpusFormat",
    "FakeAssistants",
    "FakeAssistantsServer",
    "FakeResponse",
    "Fault",
    "LifecycleMachine",
    "PollEntry",
    "RecordedRequest",
    "ResponseLifecycleMachine",
    "RunLifecycleMachine",
    "RunScript",
    "SimulatedRun",
    "VirtualClock",
    "illegal_histories",
    "machine_for",
    "observe_entries",
    "poll_histories",
    "run_dicts",
    "runs",
    "simulate_run",
    "simulate_runs",
    "statuses",
    "stream_events",
    "stream_histories",
    "write_corpus",
]
