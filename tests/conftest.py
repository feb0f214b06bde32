"""Shared test configuration: hypothesis profiles, fixtures that read or write logs, a webhook receiver.

The log fixtures read text as a log, mutate simulated logs, write a log whose late record comes
far after its run's end (``late_record_log``), and run ``runfsm validate`` for its JSON report.

``quick`` (default) keeps the suite fast while developing; ``ci`` (chosen when ``CI`` is set)
explores more examples. Pick one explicitly with ``HYPOTHESIS_PROFILE=...``.
"""

from __future__ import annotations

import io
import json
import os
import random
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from runfsm.exceptions import InputError
    from runfsm.lifecycle import Lifecycle
    from runfsm.validation.records import Record
    from runfsm.webhooks import Receiver

settings.register_profile("quick", max_examples=60, deadline=None)
settings.register_profile(
    "ci", max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "quick"))

# pytester runs inner pytest sessions: used to test runfsm's own pytest plugin (tests/test_pytest_plugin.py).
pytest_plugins = ["pytester"]


def pytest_configure(config: pytest.Config) -> None:
    """Under ``coverage run``, coverage measures the pytest processes, never the programs tests start.

    ``patch = subprocess`` (pyproject.toml) has coverage start in every Python process begun with
    ``COVERAGE_PROCESS_CONFIG`` set, which is how pytest-xdist's workers are measured. Every process
    but the one that starts the workers drops it at once: the CLI runs, inner pytest sessions and
    Spark's Python workers the tests start stay unmeasured, as in a run without workers.
    """
    starts_workers = not os.environ.get("PYTEST_XDIST_WORKER") and bool(config.getoption("numprocesses", None))
    if not starts_workers:
        os.environ.pop("COVERAGE_PROCESS_CONFIG", None)


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio: the openai client, httpx2 and runfsm's async twins are asyncio code.

    anyio's plugin would otherwise also run them on every other installed backend (trio).
    """
    return "asyncio"


def _read_log(text: str | bytes, **kwargs: object) -> list[Record | InputError]:
    from runfsm.validation.records import read_records

    data = text.encode() if isinstance(text, str) else text
    return list(read_records(io.BytesIO(data), name="log", **kwargs))  # type: ignore[arg-type]


@pytest.fixture
def read_log() -> Callable[..., list[Record | InputError]]:
    """``read_log(text, **options)``: what ``read_records`` gives for ``text`` (or bytes) as a log named ``log``.

    The reader tests share it (tests/test_records.py and tests/formats/), and its two filters below.
    """
    return _read_log


@pytest.fixture
def log_records() -> Callable[..., list[Record]]:
    """``log_records(text, **options)``: the records ``read_log`` gives, asserting it gives no errors."""
    from runfsm.exceptions import InputError
    from runfsm.validation.records import Record

    def records(text: str | bytes, **kwargs: object) -> list[Record]:
        items = _read_log(text, **kwargs)
        assert not [i for i in items if isinstance(i, InputError)], items
        return [i for i in items if isinstance(i, Record)]

    return records


@pytest.fixture
def log_errors() -> Callable[..., list[tuple[int | None, str]]]:
    """``log_errors(text, **options)``: the ``(line, detail)`` of each error ``read_log`` gives."""
    from runfsm.exceptions import InputError

    def errors(text: str | bytes, **kwargs: object) -> list[tuple[int | None, str]]:
        return [(i.line, i.detail) for i in _read_log(text, **kwargs) if isinstance(i, InputError)]

    return errors


# ----------------------------------------------------------------------------- mutated logs

_MUTATIONS = ("truncate", "drop_blank", "bom", "nul", "garbage", "dup_key", "shuffle", "cr", "crlf", "odd_json")
_GARBAGE = [
    b"\xff\xfe",
    b"\x00",
    b"\r",
    b"\n",
    b"\n\n",
    b'"',
    b'a,"b\n',
    b"{",
    b"event: x\n",
    b"event: thread.run.queued\n",
    b"data: {\n",
    b": a comment\n",
    b",,,\n",
    b'{"object":"thread.run.step","id":"s"}\n',
]


def webhook_log(seed: int, objects: int) -> bytes:
    """A webhook event log as a receiver appends it: bodies of one preset's objects, as delivered.

    Each object gets its terminal event (now and then a second, contradicting one: an illegal
    history); deliveries are shuffled (no guaranteed order) and some are delivered twice; an
    event of an object no preset follows slips in.
    """
    from runfsm.lifecycles import BATCH_LIFECYCLE, RESPONSE_LIFECYCLE

    rng = random.Random(seed)
    lifecycle: Lifecycle[Any] = rng.choice([RESPONSE_LIFECYCLE, BATCH_LIFECYCLE])
    types = sorted(lifecycle.webhooks)
    prefix = "resp" if lifecycle is RESPONSE_LIFECYCLE else "batch"
    bodies: list[dict[str, Any]] = []
    for n in range(objects):
        at = 1_750_000_000 + rng.randrange(3600)
        for extra in range(2 if rng.random() < 0.2 else 1):
            bodies.append(
                {
                    "id": f"evt_{seed}_{n}_{extra}",
                    "object": "event",
                    "type": rng.choice(types),
                    "created_at": at + extra * rng.randrange(-5, 6),
                    "data": {"id": f"{prefix}_{seed}_{n}"},
                }
            )
    if rng.random() < 0.3:
        body = {"id": f"evt_{seed}_ft", "object": "event", "type": "fine_tuning.job.succeeded", "created_at": 1}
        bodies.append({**body, "data": {"id": "ftjob_1"}})
    bodies += [dict(b) for b in bodies if rng.random() < 0.3]  # redeliveries
    rng.shuffle(bodies)
    return "".join(json.dumps(b) + "\n" for b in bodies).encode()


def _simulated_log(fmt: str, seed: int, runs: int) -> bytes:
    """A simulated log in ``fmt`` (some runs illegal, some unfinished, 3 interleaved), as bytes."""
    from runfsm.testing.simulate import simulate_runs, write_corpus

    if fmt == "webhooks":
        return webhook_log(seed, runs)
    mode = "stream" if fmt in ("events", "sse") else "poll"
    simulated = simulate_runs(runs, seed=seed, mode=mode, illegal=0.3, unfinished=0.3, fmt=fmt)  # type: ignore[arg-type]
    text = io.StringIO()
    write_corpus(text, simulated, fmt=fmt, concurrency=3, seed=seed)  # type: ignore[arg-type]
    return text.getvalue().encode()


def _mutate(data: bytes, mutation: str, rng: random.Random) -> bytes:
    """One mutation of a log (positions drawn from ``rng``)."""
    lines = data.splitlines(keepends=True)
    at = rng.randrange(len(data) + 1)
    if mutation == "truncate" and lines:  # a line loses its tail (the last one may lose its newline)
        k = rng.randrange(len(lines))
        line = lines[k]
        lines[k] = line[: rng.randrange(len(line) + 1)] + (b"\n" if k < len(lines) - 1 else b"")
        return b"".join(lines)
    if mutation == "drop_blank":
        return b"".join(line for line in lines if line.strip())
    if mutation == "bom":
        k = rng.choice([0, at, *(len(b"".join(lines[:i])) for i in range(len(lines)))])
        return data[:k] + b"\xef\xbb\xbf" + data[k:]
    if mutation == "nul":
        return data[:at] + b"\x00" + data[at:]
    if mutation == "garbage":  # anywhere, or as a line of its own
        if lines and rng.random() < 0.5:
            lines.insert(rng.randrange(len(lines) + 1), rng.choice(_GARBAGE))
            return b"".join(lines)
        return data[:at] + rng.choice(_GARBAGE) + data[at:]
    if mutation == "dup_key" and lines:  # a JSON line gains a duplicate (or an event's own) "id"
        k = rng.randrange(len(lines))
        line = lines[k]
        if line.startswith(b"{"):
            dup = b'"id":"dup_%d"' % rng.randrange(1000)
            lines[k] = (
                b"{" + dup + b"," + line[1:] if rng.random() < 0.5 else line.rstrip(b"}\r\n") + b"," + dup + b"}\n"
            )
        return b"".join(lines)
    if mutation == "shuffle":
        rng.shuffle(lines)
        return b"".join(line if line.endswith((b"\n", b"\r")) else line + b"\n" for line in lines)
    if mutation == "cr":
        return data.replace(b"\n", b"\r")
    if mutation == "crlf":
        return data.replace(b"\n", b"\r\n")
    if mutation == "odd_json" and lines:  # valid JSON the fast parser refuses, or not JSON at all
        k = rng.randrange(len(lines))
        line = lines[k]
        odd = rng.choice(
            [
                b'"n":123456789012345678901234567890123',
                b'"s":"\\ud800"',
                b'"t":NaN',
                b'"d":' + b"[" * 1100 + b"]" * 1100,
            ]
        )
        for marker in (b"{", b"data: {"):
            if line.startswith(marker):
                lines[k] = marker + odd + b"," + line[len(marker) :]
                break
        return b"".join(lines)
    return data


@pytest.fixture(scope="session")
def make_webhook_log() -> Callable[[int, int], bytes]:
    """``make_webhook_log(seed, objects)``: a webhook event log as delivered (see :func:`webhook_log`)."""
    return webhook_log


@pytest.fixture(scope="session")
def mutated_logs() -> Callable[[st.DataObject], tuple[str, bytes]]:
    """``draw(data) -> (fmt, bytes)``: a simulated log in any format (a webhook log among them), then a few mutations.

    The mutations: truncated lines, dropped blank lines, byte-order marks, NULs and garbage
    inserted anywhere, duplicate ``"id"`` keys, shuffled lines, CR-only or CRLF line ends,
    valid JSON the fast parser refuses (and ``NaN``, which is not JSON).
    """

    def draw(data: st.DataObject) -> tuple[str, bytes]:
        fmt = data.draw(st.sampled_from(["jsonl", "events", "compact", "csv", "sse", "webhooks"]), label="fmt")
        seed = data.draw(st.integers(0, 2**16), label="seed")
        log = _simulated_log(fmt, seed, data.draw(st.integers(1, 8), label="runs"))
        mutations = data.draw(st.lists(st.sampled_from(_MUTATIONS), min_size=1, max_size=5), label="mutations")
        rng = data.draw(st.randoms(use_true_random=False), label="positions")
        for mutation in mutations:
            log = _mutate(log, mutation, rng)
        return fmt, log

    return draw


@pytest.fixture
def make_receiver(tmp_path: Path) -> Iterator[Callable[..., Receiver]]:
    """``make_receiver(**options)``: a webhook receiver on ``tmp_path/hooks.sqlite`` (the same file each call).

    Signed with the fake's ``TEST_SECRET`` unless ``secret=`` is given; every receiver made is closed after the test.
    """
    from runfsm.testing.fake.webhooks import TEST_SECRET
    from runfsm.webhooks import Receiver

    made: list[Receiver] = []

    def make(**options: Any) -> Receiver:
        options.setdefault("secret", TEST_SECRET)
        receiver = Receiver(tmp_path / "hooks.sqlite", **options)
        made.append(receiver)
        return receiver

    yield make
    for receiver in made:
        receiver.close()


def _write_logs(folder: str, logs: list[tuple[str, bytes]]) -> list[str]:
    paths = []
    for n, (fmt, raw) in enumerate(logs):
        path = os.path.join(folder, f"log{n}.{fmt}")
        with open(path, "wb") as f:
            f.write(raw)
        paths.append(path)
    return paths


@pytest.fixture(scope="session")
def write_logs() -> Callable[[str, list[tuple[str, bytes]]], list[str]]:
    """``write_logs(folder, [(fmt, bytes), ...])``: write each log as ``folder/logN.fmt``; return the paths."""
    return _write_logs


# ----------------------------------------------------------------------------- late records

_FILLER_RUNS = 6_700
_FILLER_STATUSES = ("queued", "in_progress", "completed")


def _polled(run_id: str, status: str, t: int) -> str:
    """A JSON Lines run object as polled, with the timestamps its status promises (no field warnings)."""
    fields = {
        "queued": "",
        "in_progress": f', "started_at": {t}',
        "completed": f', "started_at": {t}, "completed_at": {t + 1}',
    }
    return f'{{"id": "{run_id}", "status": "{status}"{fields[status]}}}\n'


@pytest.fixture
def late_record_log(tmp_path: Path) -> Path:
    """A JSON Lines log whose last line is a record of a run that ended 20,101 lines before.

    ``run_late`` is queued (line 1) and completed (line 2); 6,700 legal runs follow, three lines
    each (queued, in_progress, completed); then, on line 20,103, ``run_late`` is seen
    ``in_progress`` again. That is past 10,000 slots (what the duckdb and spark engines once
    defaulted to) and within ``DEFAULT_LINGER`` (50,000 slots): judged with ``run_late``, it is an
    illegal jump out of ``completed``; past the window it would start a second, unfinished history.
    """
    path = tmp_path / "late.jsonl"
    with path.open("w") as out:
        out.write(_polled("run_late", "queued", 1) + _polled("run_late", "completed", 1))
        out.writelines(_polled(f"run_{n:05d}", status, n) for n in range(_FILLER_RUNS) for status in _FILLER_STATUSES)
        out.write(_polled("run_late", "in_progress", 1))
    return path


@pytest.fixture
def validate_json(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, dict[str, Any]]]:
    """``validate_json(*arguments)``: the exit status and report of ``runfsm validate --format json ARGUMENTS``.

    The report's runs are sorted by run id (the engines list them in other orders).
    """
    from runfsm.commands.main import main

    def validate(*arguments: str) -> tuple[int, dict[str, Any]]:
        code = main(["validate", "--format", "json", *arguments])
        report = json.loads(capsys.readouterr().out)
        report["runs"].sort(key=lambda run: run["run_id"])
        return code, report

    return validate


@pytest.fixture
def surrogate_ids() -> str:
    """Run ids JSON escapes make lone surrogates of (two of them distinct runs), and a pair that is one character.

    As JSON Lines: run objects, a stream event, a compact run joining one of them, a plain run.
    """
    return (
        '{"id": "\\ud800", "status": "queued"}\n'
        '{"id": "\\udc80", "status": "queued"}\n'
        '{"event": "thread.run.queued", "data": {"id": "\\udc80x", "status": "queued"}}\n'
        '{"run_id": "\\ud800", "statuses": ["queued", "completed"]}\n'
        '{"id": "\\ud83d\\ude00", "status": "queued"}\n'
        '{"id": "run_1", "status": "queued"}\n{"id": "run_1", "status": "completed"}\n'
    )
