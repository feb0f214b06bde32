"""A corpus generator: realistic run histories, written in every input format ``runfsm validate`` reads.

Each run is a random walk over ``RUN_LIFECYCLE`` (documented edges preferred over lenient ones,
several ``requires_action`` rounds, the odd cancel), then observed the way a client would: a
stream sees every status; a poller sub-samples them, sees some twice, and records its client
calls. A chosen fraction of runs gets one injected illegal jump, another is cut off before
its terminal status. Everything is deterministic given the seed.
"""

from __future__ import annotations

import csv
import io
import json
import random
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, Final, Literal

from runfsm.lifecycle import ILLEGAL
from runfsm.lifecycles import RUN_LIFECYCLE
from runfsm.status import RunStatus
from runfsm.vocabulary import Trigger

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

__all__ = [
    "CORPUS_FORMATS",
    "CorpusFormat",
    "SimulatedRun",
    "simulate_run",
    "simulate_runs",
    "simulated_log",
    "write_corpus",
]

CorpusFormat = Literal["jsonl", "events", "sse", "compact", "csv"]
CORPUS_FORMATS: Final[tuple[str, ...]] = ("jsonl", "events", "sse", "compact", "csv")
"""``jsonl`` run objects (+ call records), ``events`` stream events as JSON Lines, ``sse`` raw SSE
text, ``compact`` one ``{"run_id", "statuses"}`` line per run, ``csv`` ``run_id,status,timestamp`` rows."""

_STREAM_FORMATS: Final = ("events", "sse")
_ALL_CALLS: Final = frozenset({Trigger.SUBMIT_TOOL_OUTPUTS, Trigger.CANCEL})
_SUCCESS: Final = RunStatus.Completed
_EXPIRY: Final = 600

Item = RunStatus | Trigger


@dataclass(frozen=True, slots=True)
class SimulatedRun:
    """One generated run: its true path and what the log holds."""

    run_id: str
    mode: Literal["stream", "poll"]
    path: tuple[RunStatus, ...]
    """The statuses the run really went through, from its first one."""
    observed: tuple[Item, ...]
    """The log, in order: observed statuses and (poll mode) recorded client calls."""
    positions: tuple[int, ...]
    """For each observed item, the index in ``path`` it belongs to (-1 for an injected status)."""
    illegal_index: int | None
    """Index in ``observed`` of the injected illegal status, if any."""
    finished: bool
    """True if the log reaches the terminal status."""
    created_at: int

    @property
    def snapshots(self) -> list[dict[str, Any]]:
        """A run object (as the API returns it) for each observed item (calls give ``{}``)."""
        return _snapshots(self)


# ----------------------------------------------------------------------------- the walk


def _weight(source: RunStatus, dest: RunStatus, rounds_left: int) -> float:
    edge = RUN_LIFECYCLE.edge(source, dest)
    assert edge is not None
    weight = 10.0 if not edge.is_lenient else 0.4
    if edge.trigger is Trigger.CANCEL:
        weight = 0.4
    if dest is _SUCCESS:
        weight *= 6
    if dest.is_paused:
        weight = 3.0 * weight if rounds_left > 0 else 0.0
    return weight


def _walk(rng: random.Random, mode: str, max_rounds: int) -> list[RunStatus]:
    first = RUN_LIFECYCLE.successors(RUN_LIFECYCLE.initial)
    # a stream starts at the created event; a create call returns the next status
    state = first[0] if mode == "stream" else first[-1]
    path = [state]
    rounds = max_rounds
    while state not in RUN_LIFECYCLE.terminal and len(path) < 64:
        choices = RUN_LIFECYCLE.successors(state)
        weights = [_weight(state, d, rounds) for d in choices]
        if not any(weights):
            weights = [1.0] * len(choices)
        state = rng.choices(choices, weights)[0]
        if state.is_paused:
            rounds -= 1
        path.append(state)
    return path


def _illegal_candidates(state: RunStatus, mode: str, fmt: str) -> list[RunStatus]:
    out = []
    for target in RUN_LIFECYCLE.states:
        if target is RUN_LIFECYCLE.initial or target is state:
            continue
        if fmt in _STREAM_FORMATS and target.event is None:
            continue
        if fmt == "jsonl" and target.wire is None:
            continue
        if state is RUN_LIFECYCLE.initial:
            continue  # a first status is never illegal: a poll starts anywhere, a stream may be joined mid-run
        if mode == "stream":
            if RUN_LIFECYCLE.lookup[state][target] == ILLEGAL:
                out.append(target)
        elif RUN_LIFECYCLE.route(state, target, calls=_ALL_CALLS) is None:
            out.append(target)
    return out


def simulate_run(
    rng: random.Random,
    run_id: str,
    *,
    mode: Literal["stream", "poll"] = "poll",
    illegal: bool = False,
    unfinished: bool = False,
    record_calls: float = 1.0,
    max_rounds: int = 3,
    fmt: str = "compact",
    created_at: int = 1_732_300_000,
) -> SimulatedRun:
    """One run: a walk over the lifecycle, observed in ``mode``, maybe with an illegal jump or cut short.

    ``record_calls`` is the chance a client call is logged (poll mode). ``fmt`` limits the
    injected illegal status to what the format can express (run objects need a wire value).
    """
    if mode not in ("stream", "poll"):
        raise ValueError(f"mode must be 'stream' or 'poll', got {mode!r}")
    path = _walk(rng, mode, max_rounds)
    observed: list[Item] = []
    positions: list[int] = []
    for j, state in enumerate(path):
        if mode == "stream":
            observed.append(state)
            positions.append(j)
            continue
        if j > 0:
            edge = RUN_LIFECYCLE.edge(path[j - 1], state)
            assert edge is not None
            if edge.trigger.is_client_call and rng.random() < record_calls:
                observed.append(edge.trigger)
                positions.append(j)
        last = j == len(path) - 1
        if j == 0:
            seen = 1 if rng.random() < 0.8 else 0
        elif last or state.is_paused:
            seen = 1 if last or rng.random() < 0.9 else 0
            seen += rng.random() < 0.2
        else:
            seen = 1 if rng.random() < 0.6 else 0
            seen += int(rng.random() < 0.3) + int(rng.random() < 0.1)
        for _ in range(seen):
            observed.append(state)
            positions.append(j)
    if not any(isinstance(i, RunStatus) for i in observed):
        observed.append(path[-1])
        positions.append(len(path) - 1)
    finished = True
    if unfinished:
        statuses = [k for k, i in enumerate(observed) if isinstance(i, RunStatus)]
        first_terminal = next(k for k in statuses if observed[k] in RUN_LIFECYCLE.terminal)
        keep = [k for k in statuses if k < first_terminal]
        if keep:
            cut = rng.choice(keep) + 1
            observed, positions = observed[:cut], positions[:cut]
            finished = False
    illegal_index = None
    if illegal:
        illegal_index = _inject(rng, observed, positions, mode, fmt)
    return SimulatedRun(
        run_id, mode, tuple(path), tuple(observed), tuple(positions), illegal_index, finished, created_at
    )


def _inject(rng: random.Random, observed: list[Item], positions: list[int], mode: str, fmt: str) -> int | None:
    state = RUN_LIFECYCLE.initial
    options: list[tuple[int, RunStatus]] = []
    for k in range(len(observed) + 1):
        options.extend((k, t) for t in _illegal_candidates(state, mode, fmt))
        if k < len(observed):
            item = observed[k]
            if isinstance(item, RunStatus):
                state = item
    if not options:
        return None
    k, target = rng.choice(options)
    observed.insert(k, target)
    positions.insert(k, -1)
    return k


def simulate_runs(
    runs: int,
    *,
    seed: int = 0,
    mode: Literal["stream", "poll"] = "poll",
    illegal: float = 0.0,
    unfinished: float = 0.0,
    record_calls: float = 1.0,
    max_rounds: int = 3,
    fmt: str = "compact",
) -> Iterator[SimulatedRun]:
    """``runs`` runs (or endlessly with ``runs=-1``); ``illegal`` and ``unfinished`` are fractions."""
    if not isinstance(runs, int) or isinstance(runs, bool) or runs < -1:
        raise ValueError(f"runs must be a count >= 0, or -1 for endless runs; got {runs!r}")
    if mode not in ("stream", "poll"):
        raise ValueError(f"mode must be 'stream' or 'poll', got {mode!r}")
    for name, value in (("illegal", illegal), ("unfinished", unfinished), ("record_calls", record_calls)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be a fraction between 0 and 1, got {value!r}")
    rng = random.Random(seed)
    n = 0
    while runs < 0 or n < runs:
        run_id = f"run_{seed:04x}{n:08d}{rng.getrandbits(32):08x}"
        yield simulate_run(
            rng,
            run_id,
            mode=mode,
            illegal=rng.random() < illegal,
            unfinished=rng.random() < unfinished,
            record_calls=record_calls,
            max_rounds=max_rounds,
            fmt=fmt,
            created_at=1_732_300_000 + n * 3,
        )
        n += 1


# ----------------------------------------------------------------------------- run objects

_TOOLS: Final = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
    }
]


def _run_object(run: SimulatedRun, status: RunStatus, now: int, started: int | None) -> dict[str, Any]:
    terminal = status in RUN_LIFECYCLE.terminal
    if started is None and status is RunStatus.InProgress:
        started = now
    obj: dict[str, Any] = {
        "id": run.run_id,
        "object": "thread.run",
        "created_at": run.created_at,
        "assistant_id": "asst_" + run.run_id[4:],
        "thread_id": "thread_" + run.run_id[4:],
        "status": status.wire if status.wire is not None else "queued",
        "started_at": started,
        "expires_at": None if terminal and status is not RunStatus.Expired else run.created_at + _EXPIRY,
        "cancelled_at": now if status is RunStatus.Cancelled else None,
        "failed_at": now if status is RunStatus.Failed else None,
        "completed_at": now if status is RunStatus.Completed else None,
        "required_action": None,
        "last_error": None,
        "model": "gpt-4o",
        "instructions": "You are a helpful assistant. Use the tools when asked about the weather.",
        "tools": _TOOLS,
        "metadata": {},
        "usage": {"prompt_tokens": 120, "completion_tokens": 40, "total_tokens": 160} if terminal else None,
        "temperature": 1.0,
        "top_p": 1.0,
        "max_prompt_tokens": None,
        "max_completion_tokens": None,
        "truncation_strategy": {"type": "auto", "last_messages": None},
        "incomplete_details": None,
        "response_format": "auto",
        "tool_choice": "auto",
        "parallel_tool_calls": True,
    }
    if status.is_paused:
        call = {"id": f"call_{now:x}", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
        obj["required_action"] = {"type": "submit_tool_outputs", "submit_tool_outputs": {"tool_calls": [call]}}
    elif status is RunStatus.Failed:
        obj["last_error"] = {"code": "server_error", "message": "Sorry, something went wrong."}
    elif status is RunStatus.Incomplete:
        obj["incomplete_details"] = {"reason": "max_completion_tokens"}
    return obj


def _snapshots(run: SimulatedRun) -> list[dict[str, Any]]:
    times = [run.created_at + 2 * j for j in range(len(run.path))]
    started: list[int | None] = []
    first: int | None = None
    for j, state in enumerate(run.path):
        if first is None and state is RunStatus.InProgress:
            first = times[j]
        started.append(first)
    out: list[dict[str, Any]] = []
    last = 0
    for item, j in zip(run.observed, run.positions, strict=True):
        if isinstance(item, Trigger):
            out.append({})
            continue
        if j < 0:
            out.append(_run_object(run, item, times[last] + 1, started[last]))
            continue
        last = j
        out.append(_run_object(run, item, times[j], started[j]))
    return out


# ----------------------------------------------------------------------------- writing


def _lines(run: SimulatedRun, fmt: str, rng: random.Random) -> list[list[str]]:
    """The text each observed item becomes (one entry per item; stream noise attached to items)."""
    if fmt in _STREAM_FORMATS and run.mode != "stream":
        raise ValueError(
            f"run {run.run_id} was simulated in {run.mode} mode; the {fmt} format is a stream capture, "
            "which shows every status: simulate its runs with mode='stream'"
        )
    if fmt == "compact":
        entries = [i.value if isinstance(i, Trigger) else _status_text(i, rng) for i in run.observed]
        return [[json.dumps({"run_id": run.run_id, "statuses": entries}) + "\n"]]
    snaps = _snapshots(run) if fmt != "csv" else [{} for _ in run.observed]
    out: list[list[str]] = []
    for item, snap, j in zip(run.observed, snaps, run.positions, strict=True):
        if fmt == "csv":
            text = item.value if isinstance(item, Trigger) else _status_text(item, rng)
            buf = io.StringIO()
            csv.writer(buf, lineterminator="\n").writerow([run.run_id, text, run.created_at + 2 * max(j, 0)])
            out.append([buf.getvalue()])
        elif isinstance(item, Trigger):
            out.append([json.dumps({"run_id": run.run_id, "call": item.value}) + "\n"] if fmt == "jsonl" else [])
        elif fmt == "jsonl":
            out.append([json.dumps(snap, separators=(",", ":")) + "\n"])
        else:
            events: list[tuple[str, object]] = [(item.event or "thread.run.queued", snap)]
            if item.is_active and item.wire == "in_progress" and rng.random() < 0.5:
                step = {"id": f"step_{rng.getrandbits(32):08x}", "object": "thread.run.step", "run_id": run.run_id}
                events.append(("thread.run.step.created", {**step, "status": "in_progress"}))
                events.append(("thread.message.delta", {"id": "msg_1", "object": "thread.message.delta"}))
            if item.is_paused or item in RUN_LIFECYCLE.terminal:
                events.append(("done", "[DONE]"))
            out.append([_event_text(name, data, fmt) for name, data in events])
    return out


def _status_text(status: RunStatus, rng: random.Random) -> str | int:
    """Mostly wire values; now and then a member name or an ordinal, as other clients log them."""
    roll = rng.random()
    if status.wire is None or roll < 0.05:
        return status.name
    if roll < 0.1:
        return int(status)
    return status.wire


def _event_text(name: str, data: object, fmt: str) -> str:
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    if fmt == "sse":
        return f"event: {name}\ndata: {payload}\n\n"
    return json.dumps({"event": name, "data": data}, separators=(",", ":")) + "\n"


def write_corpus(
    out: IO[str],
    runs: Iterable[SimulatedRun],
    *,
    fmt: CorpusFormat = "jsonl",
    concurrency: int = 50,
    seed: int = 0,
    max_lines: int | None = None,
    progress: Callable[[int], object] | None = None,
) -> int:
    """Write the runs to ``out`` in ``fmt``, ``concurrency`` runs interleaved; return the lines written.

    Stops after ``max_lines`` lines (whole items only) when given. ``compact`` writes one
    line per run and does not interleave.
    """
    if fmt not in CORPUS_FORMATS:
        raise ValueError(f"fmt must be one of {CORPUS_FORMATS}, got {fmt!r}")
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency!r}")
    rng = random.Random(seed ^ 0x5EED)
    written = 0
    if fmt == "csv":
        out.write("run_id,status,timestamp\n")
        written += 1
    source = iter(runs)
    active: list[list[list[str]]] = []
    exhausted = False
    while True:
        while not exhausted and len(active) < concurrency:
            run = next(source, None)
            if run is None:
                exhausted = True
                break
            active.append(_lines(run, fmt, rng))
        if not active:
            return written
        k = rng.randrange(len(active))
        pending = active[k]
        chunk = pending.pop(0)
        if not pending:
            active[k] = active[-1]
            active.pop()
        text = "".join(chunk)
        lines = text.count("\n")
        if max_lines is not None and written + lines > max_lines:
            return written
        out.write(text)
        written += lines
        if progress is not None:
            progress(written)


def simulated_log(
    fmt: CorpusFormat, seed: int, *, runs: int, illegal: float = 0.0, unfinished: float = 0.3, concurrency: int = 4
) -> str:
    """A small simulated log in ``fmt`` as text: ``runs`` runs, ``concurrency`` interleaved (for tests).

    Stream formats (``events``, ``sse``) hold stream-mode runs, the others poll-mode runs.
    """
    import io  # noqa: PLC0415

    mode: Literal["stream", "poll"] = "stream" if fmt in ("events", "sse") else "poll"
    text = io.StringIO()
    simulated = simulate_runs(runs, seed=seed, mode=mode, illegal=illegal, unfinished=unfinished, fmt=fmt)
    write_corpus(text, simulated, fmt=fmt, concurrency=concurrency, seed=seed)
    return text.getvalue()
