r"""The log formats :mod:`runfsm.validation.records` reads, one reader module each.

Formats (detected from the first non-blank line of each input)
--------------------------------------------------------------
``jsonl``
    JSON Lines. Each line is one of:

    - a run object as ``runs.retrieve`` returns it: ``{"object": "thread.run", "id": ..., "status": ...}``
      (poll mode); a ``runs.list`` page ``{"object": "list", "data": [run, ...]}`` gives one record per run;
    - a recorded stream event ``{"event": "thread.run.in_progress", "data": {run object}}`` (stream mode;
      run-step, message, thread, ``error`` and ``done`` events are skipped);
    - a compact run: a JSON array of statuses ``["queued", "in_progress", "completed"]`` (the run id is
      ``FILE:LINE``) or ``{"run_id": "run_1", "statuses": [...]}`` (poll mode);
    - a client call: ``{"run_id": "run_1", "call": "submit_tool_outputs"}`` or ``"cancel"``.
``sse``
    Raw server-sent events as captured from the wire: ``event:`` / ``data:`` lines, a blank line
    between events (stream mode; an ``event:`` line also ends an event that has one). Non-run
    events are skipped as above.
``csv``
    A header naming at least ``run_id`` and ``status`` (any order; ``timestamp`` and other columns
    allowed), then one row per observation (poll mode); a quoted cell may span lines.
``webhooks``
    One delivered webhook event body per line, ``{"id": "evt_...", "object": "event", "type":
    "response.completed", "created_at": ..., "data": {"id": ...}}`` (poll mode): detected when the
    first line is such an event. Redeliveries of an event id are skipped and each object's
    events are judged in ``created_at`` order (see :mod:`~runfsm.validation.formats.webhooks`).

In every format a line ends at ``\n``, ``\r\n`` or a lone ``\r``, a byte-order mark opening the
input is dropped, and every line is counted (:class:`~runfsm.validation.summary.LineCounts`).

JSON (lines, ``data:`` of events): the integers runfsm uses are exact whatever their size (orjson reads those
beyond 64 bits as floats; a line where such a value is used is read again by the standard
parser), and an object that names a key twice counts with the key's last value, as Python's
``json``, orjson and JavaScript's ``JSON.parse`` read it (``"st\u0061tus"`` is ``"status"``).
The duckdb engine's reader keeps a duplicated key's first value instead (a known difference).

Statuses may be wire strings, member names, the eleven ordinals or stream event names. Inside a
compact list or a CSV ``status`` cell, ``"submit_tool_outputs"`` and ``"cancel"`` record client calls.

What every reader shares (the record types, the per-input state, the line reader) is in
:mod:`runfsm.validation.formats.base`; the readers are :mod:`~runfsm.validation.formats.jsonl`,
:mod:`~runfsm.validation.formats.sse`, :mod:`~runfsm.validation.formats.csvrows` and
:mod:`~runfsm.validation.formats.webhooks`. Read logs through
:mod:`runfsm.validation.records`, which detects the format, opens the input and runs its reader.
"""
