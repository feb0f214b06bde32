"""Nothing lost in silence: every line of every input is in a record, skipped by a rule, or an error.

The properties run on simulated logs of every format, mutated (see ``mutated_logs`` in
tests/conftest.py), under every option; and check that splitting the runs between workers
(``--jobs N``) gives the summary, the verdicts and the errors of one worker.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hypothesis import given, settings
from hypothesis import strategies as st

from runfsm.validation import Summary, summarize_paths

if TYPE_CHECKING:
    from collections.abc import Callable

    from runfsm.exceptions import InputError
    from runfsm.verdict import Verdict

_OPTIONS = st.fixed_dictionaries(
    {
        "mode": st.sampled_from(["auto", "stream", "poll"]),
        "strict": st.booleans(),
        "sort_by": st.sampled_from([None, "created_at", "timestamp"]),
        "check_fields": st.booleans(),
        "forced": st.booleans(),
        "every_verdict": st.booleans(),
    }
)
_FORMAT_OF: dict[str, Any] = {
    "jsonl": "jsonl",
    "events": "jsonl",
    "compact": "jsonl",
    "csv": "csv",
    "sse": "sse",
    "webhooks": "webhooks",
}


def _summarize(
    paths: list[str], options: dict[str, Any], logs: list[tuple[str, bytes]], partition: tuple[int, int] | None = None
) -> tuple[Summary, list[Verdict], list[InputError]]:
    """summarize_paths under ``options``, with the verdicts it reports and the errors it passes on."""
    verdicts: list[Verdict] = []
    errors: list[InputError] = []
    opts = dict(options)
    forced = opts.pop("forced")
    # a forced format applies to every input: force it only when they share one
    kinds = {_FORMAT_OF[fmt] for fmt, _ in logs}
    input_format: Any = kinds.pop() if forced and len(kinds) == 1 else "auto"
    if any(fmt == "webhooks" for fmt, _ in logs):  # a webhook log is of responses or batches: detected
        opts["lifecycle"] = "auto"
    summary = summarize_paths(
        paths,
        on_verdict=verdicts.append,
        on_error=errors.append,
        input_format=input_format,
        partition=partition,
        **opts,
    )
    return summary, verdicts, errors


@settings(max_examples=120)
@given(st.data(), _OPTIONS)
def test_every_line_is_accounted_for(
    mutated_logs: Callable[[st.DataObject], tuple[str, bytes]],
    write_logs: Callable[[str, list[tuple[str, bytes]]], list[str]],
    data: st.DataObject,
    options: dict[str, object],
) -> None:
    r"""Per input: lines read = in records + skipped + errors, and lines read = the lines the file has.

    A line ends at \n, \r\n or a lone \r (as ``bytes.splitlines`` has it), whatever the format.
    """
    logs = [mutated_logs(data) for _ in range(data.draw(st.integers(1, 2), label="files"))]
    with tempfile.TemporaryDirectory() as folder:
        paths = write_logs(folder, logs)
        summary, _verdicts, errors = _summarize(paths, options, logs)
    assert [c.source for c in summary.sources] == paths
    for counts, (_fmt, raw) in zip(summary.sources, logs, strict=True):
        assert counts.lines == len(raw.splitlines()), counts
        assert counts.balanced, counts
        error_lines = {e.line for e in errors if e.source == counts.source and e.line is not None}
        assert len(error_lines) <= counts.errors  # every error line is counted (an error covers an event's lines)
        if counts.errors:
            assert any(e.source == counts.source for e in errors)  # and no error line goes unreported
    assert summary.input_errors == len(errors)
    assert summary.balanced


def _key(verdict: Verdict) -> str:
    return json.dumps(verdict.to_dict(), sort_keys=True)


@settings(max_examples=80)
@given(st.data(), _OPTIONS, st.integers(2, 4))
def test_partitions_add_up_to_one_reader(
    mutated_logs: Callable[[st.DataObject], tuple[str, bytes]],
    write_logs: Callable[[str, list[tuple[str, bytes]]], list[str]],
    data: st.DataObject,
    options: dict[str, object],
    jobs: int,
) -> None:
    """The workers of ``--jobs N`` (one partition each) give together what one reader gives.

    The same summary (run results, counts and every input's line counts), the same verdicts and
    the same input errors, on mutated logs: duplicate ``"id"`` keys and stream events carrying
    an id of their own must not split a run between workers.
    """
    logs = [mutated_logs(data) for _ in range(data.draw(st.integers(1, 2), label="files"))]
    with tempfile.TemporaryDirectory() as folder:
        paths = write_logs(folder, logs)
        whole, verdicts, errors = _summarize(paths, options, logs)
        merged = Summary(strict=bool(options["strict"]))
        part_verdicts: list[Verdict] = []
        part_errors: list[InputError] = []
        for k in range(jobs):
            part, vs, es = _summarize(paths, options, logs, partition=(k, jobs))
            merged.merge(part)
            part_verdicts += vs
            part_errors += es
    assert merged.to_dict() == whole.to_dict()
    assert Counter(map(_key, part_verdicts)) == Counter(map(_key, verdicts))
    assert Counter(map(str, part_errors)) == Counter(map(str, errors))


def _parts_and_whole(path: str, jobs: int) -> tuple[Summary, Summary]:
    merged = Summary()
    for k in range(jobs):
        merged.merge(summarize_paths([path], partition=(k, jobs)))
    return merged, summarize_paths([path])


def test_a_line_goes_to_the_worker_of_the_run_the_reader_assigns(tmp_path: Path) -> None:
    """Event ids and duplicate keys do not route a line to another run's worker (issue 11, class 3).

    ``{"id": "evt_..", "event": ..., "data": {"id": "run_1", ...}}`` is about run_1; with a
    duplicate ``"id"`` key the last one is the run. Routing by the first ``"id"`` of the text
    split such runs between workers and invented illegal runs.
    """
    lines = [
        '{"id":"evt_1","event":"thread.run.created","data":{"id":"run_1","status":"queued"}}',
        '{"id":"evt_2","event":"thread.run.queued","data":{"id":"run_1","status":"queued"}}',
        '{"id":"evt_4","event":"thread.run.in_progress","data":{"id":"run_1","status":"in_progress"}}',
        '{"id":"evt_3","event":"thread.run.completed","data":{"id":"run_1","status":"completed"}}',
        '{"id":"run_2","status":"queued"}',
        '{"id":"dup_7","id":"run_2","status":"in_progress"}',
        '{"id":"run_2","status":"completed"}',
        '{"id":"run_9","run_id":"run_2","call":"submit_tool_outputs"}',
    ]
    path = tmp_path / "routed.jsonl"
    path.write_text("\n".join(lines) + "\n")
    for jobs in (2, 3, 4, 5):
        merged, whole = _parts_and_whole(str(path), jobs)
        assert (whole.runs, whole.legal) == (2, 2)
        assert merged.to_dict() == whole.to_dict(), jobs
