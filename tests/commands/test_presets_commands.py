"""``runfsm diagram --lifecycle`` and ``runfsm lifecycle --lifecycle``: each preset drawn and printed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from runfsm import PRESETS, Lifecycle
from runfsm.commands.diagram import diagram_stem
from runfsm.commands.main import main
from runfsm.lifecycle import cited_keys

ROOT = Path(__file__).resolve().parents[2]
ALL = pytest.mark.parametrize("lifecycle", list(PRESETS.values()), ids=list(PRESETS))


@ALL
def test_diagram_draws_each_preset(lifecycle: Lifecycle[Any], capsys: pytest.CaptureFixture[str]) -> None:
    """``runfsm diagram --lifecycle KEY`` prints that preset's Mermaid, the committed diagrams/KEY-lifecycle.mmd."""
    assert main(["diagram", "--lifecycle", lifecycle.key]) == 0
    out = capsys.readouterr().out
    assert out == (ROOT / "diagrams" / f"{diagram_stem(lifecycle)}.mmd").read_text(encoding="utf-8")
    assert f'title: "{lifecycle.name} lifecycle"' in out


@ALL
def test_lifecycle_prints_each_preset(lifecycle: Lifecycle[Any], capsys: pytest.CaptureFixture[str]) -> None:
    """``runfsm lifecycle --lifecycle KEY --format json`` is the preset's declaration, sources and webhooks included."""
    assert main(["lifecycle", "--lifecycle", lifecycle.key, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == lifecycle.to_dict()
    assert main(["lifecycle", "--lifecycle", lifecycle.key]) == 0
    table = capsys.readouterr().out
    cited = {key for edge in lifecycle.edges for key in cited_keys(edge.evidence)}
    assert cited
    assert all(f"**{key}**" in table for key in cited)


def test_an_overlay_of_batches_is_drawn_on_the_batch_lifecycle(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--overlay of a batch log (detected) draws the batch's states and the edges the batches took."""
    log = tmp_path / "batches.jsonl"
    lines = [
        {"object": "batch", "id": "b1", "status": "validating"},
        {"object": "batch", "id": "b1", "status": "in_progress", "in_progress_at": 1},
        {"object": "batch", "id": "b1", "status": "completed", "completed_at": 9},
    ]
    log.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    assert main(["diagram", "--overlay", str(log)]) == 0
    out = capsys.readouterr().out
    assert "Validating --> InProgress" in out
    assert "Finalizing" in out
