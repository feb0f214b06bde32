"""runfsm.drawing.diagram: the neutral model of the lifecycle and its Mermaid, DOT, SVG and PNG renderings.

Also pins the committed files under ``diagrams/`` and the README's lifecycle block: they must be
what the current declaration renders to (regenerate with ``python diagrams/update.py``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runfsm.commands.diagram import (
    README_BEGIN,
    README_END,
    SAMPLES_OVERLAY_ARGS,
    diagram_stem,
    readme_block,
    readme_markers,
)
from runfsm.commands.main import main
from runfsm.commands.validate import sample_paths
from runfsm.drawing.diagram import (
    FORMATS,
    Diagram,
    EdgeRole,
    Format,
    format_for,
    lifecycle_diagram,
    render,
    to_dot,
    to_mermaid,
    to_svg,
)
from runfsm.exceptions import GraphvizMissing
from runfsm.lifecycle import Lifecycle, cited_keys
from runfsm.lifecycles import PRESETS, RUN_EDGES, RUN_LIFECYCLE
from runfsm.status import RunStatus
from runfsm.vocabulary import StateKind, Trigger

ROOT = Path(__file__).resolve().parents[2]
SVG_NS = "{http://www.w3.org/2000/svg}"
MERMAID_EDGE = re.compile(r"^    (\[\*\]|\w+) --> (\[\*\]|\w+)(?:: (.*))?$")


def _graphviz_json(dot: str) -> dict[str, object]:
    """Let Graphviz itself parse the DOT (no layout), as JSON: the ground truth for attributes."""
    out = subprocess.run(["dot", "-Tjson0"], input=dot.encode(), capture_output=True, check=True).stdout
    parsed: dict[str, object] = json.loads(out)
    return parsed


def _mermaid_edges(text: str) -> dict[tuple[str, str], str]:
    edges: dict[tuple[str, str], str] = {}
    for line in text.splitlines():
        match = MERMAID_EDGE.match(line)
        if match:
            edges[(match[1], match[2])] = match[3] or ""
    return edges


# ----------------------------------------------------------------------------- the model


def test_model_has_every_state_and_declared_edge_in_order() -> None:
    """The diagram model lists the eleven states in ordinal order and the declared edges in declaration order."""
    d = lifecycle_diagram()
    assert [n.state for n in d.nodes] == list(RunStatus)
    assert [(e.source, e.dest) for e in d.edges] == [(e.source, e.dest) for e in RUN_EDGES]
    assert all((e.role is EdgeRole.LENIENT) == decl.is_lenient for e, decl in zip(d.edges, RUN_EDGES, strict=True))
    assert all(e.trigger is decl.trigger for e, decl in zip(d.edges, RUN_EDGES, strict=True))
    assert not d.overlay
    assert d.initial is RunStatus.Null


def test_model_edges_are_the_transitions_of_the_shared_machine() -> None:
    """The drawn edges are exactly the transitions of the one ``transitions`` machine (they cannot drift apart)."""
    machine = RUN_LIFECYCLE.machine
    from_machine = {
        (source, t.dest) for event in machine.events.values() for source, ts in event.transitions.items() for t in ts
    }
    drawn = {(e.source.name, e.dest.name) for e in lifecycle_diagram().edges}
    assert drawn == from_machine


def test_lifecycle_diagram_rejects_what_is_not_a_lifecycle() -> None:
    """A clear TypeError, not an AttributeError deep inside, for a wrong argument."""
    with pytest.raises(TypeError, match="takes a Lifecycle"):
        lifecycle_diagram(RUN_EDGES)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- Mermaid


def test_mermaid_is_a_state_diagram_with_all_states_and_edges() -> None:
    """stateDiagram-v2; every state declared once; the edges are the declaration's, plus start and end markers."""
    text = to_mermaid(lifecycle_diagram())
    assert text.splitlines()[3] == "stateDiagram-v2"
    declared = re.findall(r'^    state "[^"]*" as (\w+)$', text, flags=re.MULTILINE)
    assert declared == [s.name for s in RunStatus]
    edges = _mermaid_edges(text)
    inner = {k for k in edges if "[*]" not in k}
    assert inner == {(e.source.name, e.dest.name) for e in RUN_EDGES}
    assert ("[*]", "Null") in edges
    assert {a for a, b in edges if b == "[*]"} == {s.name for s in RUN_LIFECYCLE.terminal}


def test_mermaid_labels_lenient_and_client_call_edges() -> None:
    """Mermaid cannot style single edges, so lenient edges and client calls are named in the labels."""
    edges = _mermaid_edges(to_mermaid(lifecycle_diagram()))
    for e in RUN_EDGES:
        label = edges[(e.source.name, e.dest.name)]
        assert ("lenient" in label) == e.is_lenient, (e, label)
        assert ("cancel()" in label) == (e.trigger is Trigger.CANCEL)
        assert ("submit_tool_outputs()" in label) == (e.trigger is Trigger.SUBMIT_TOOL_OUTPUTS)


def test_mermaid_classes_mark_client_paused_and_terminal_states() -> None:
    """Null and Created are the client-side start, requires_action is paused, the five final states terminal."""
    text = to_mermaid(lifecycle_diagram())
    classes = {m[2]: set(m[1].split(", ")) for m in re.finditer(r"^    class (.+) (\w+)$", text, flags=re.MULTILINE)}
    assert classes["client"] == {"Null", "Created"}
    assert classes["paused"] == {"RequiresAction"}
    assert classes["terminal"] == {s.name for s in RUN_LIFECYCLE.terminal}
    assert "unreached" not in classes
    assert "classDef unreached" not in text  # only the classes used are defined


# ----------------------------------------------------------------------------- DOT


def test_dot_parsed_by_graphviz_has_the_states_and_styled_edges() -> None:
    """Graphviz parses the DOT; lenient edges are orange with an open arrow, client-call labels blue."""
    graph = _graphviz_json(to_dot(lifecycle_diagram()))
    objects = graph["objects"]
    assert isinstance(objects, list)
    names = [o["name"] for o in objects if "nodes" not in o]  # clusters carry a "nodes" list
    assert set(names) == {s.name for s in RunStatus} | {"legend"}
    by_id = {o["_gvid"]: o["name"] for o in objects}
    edges = graph["edges"]
    assert isinstance(edges, list)
    drawn = {(by_id[e["tail"]], by_id[e["head"]]): e for e in edges if e.get("style") != "invis"}
    assert set(drawn) == {(e.source.name, e.dest.name) for e in RUN_EDGES}
    for e in RUN_EDGES:
        attrs = drawn[(e.source.name, e.dest.name)]
        assert (attrs.get("arrowhead") == "empty") == e.is_lenient
        assert (attrs["color"] == "#c26401") == e.is_lenient
        assert (attrs.get("fontcolor") == "#1a56db") == e.trigger.is_client_call


def test_dot_marks_terminal_paused_and_client_states() -> None:
    """Terminal states have a double border, the paused one a bold orange border, client ones a dashed box."""
    graph = _graphviz_json(to_dot(lifecycle_diagram()))
    nodes = {o["name"]: o for o in graph["objects"] if "nodes" not in o}  # type: ignore[attr-defined]
    for s in RunStatus:
        attrs = nodes[s.name]
        assert (attrs.get("peripheries") == "2") == s.is_terminal
        assert ("bold" in attrs["style"]) == s.is_paused
        assert ("dashed" in attrs["style"]) == (s.kind is StateKind.CLIENT)
    clusters = [o for o in graph["objects"] if o["name"].startswith("cluster")]  # type: ignore[attr-defined]
    assert [(c["label"], len(c["nodes"])) for c in clusters] == [("client side", 2)]


@settings(max_examples=25)
@given(
    st.text(st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Zl", "Zp")), min_size=1, max_size=30).map(str.strip)
)
def test_any_title_is_drawn_literally(title: str) -> None:
    """Any one-line title (quotes, backslashes, ``&`` entities, Graphviz escapes) is drawn exactly as given.

    Control and format characters are the exception: they are drawn as escapes (``test_injection``).
    """
    d = lifecycle_diagram()
    svg = to_svg(Diagram(title=title or "-", initial=d.initial, nodes=d.nodes, edges=d.edges))
    graph = ET.fromstring(svg).find(f"{SVG_NS}g")
    assert graph is not None
    first_text = graph.find(f"{SVG_NS}text")
    assert first_text is not None
    assert " ".join((first_text.text or "").split()) == " ".join((title or "-").split())


def test_dot_title_is_drawn_literally() -> None:
    """A title with quotes, backslashes, entities and Graphviz escapes is drawn exactly as given."""
    d = lifecycle_diagram()
    title = 'runs "A" \\N and \\G <b>&amp;'
    svg = to_svg(Diagram(title=title, initial=d.initial, nodes=d.nodes, edges=d.edges))
    graph = ET.fromstring(svg).find(f"{SVG_NS}g")
    assert graph is not None
    first_text = graph.find(f"{SVG_NS}text")
    assert first_text is not None
    assert first_text.text == title


# ----------------------------------------------------------------------------- determinism


@pytest.mark.parametrize("fmt", FORMATS)
def test_rendering_twice_gives_the_same_bytes(fmt: Format) -> None:
    """Same declaration, same bytes, for every format (PNG and SVG through Graphviz too)."""
    assert render(lifecycle_diagram(), format=fmt) == render(lifecycle_diagram(), format=fmt)


def test_output_does_not_depend_on_hash_seed() -> None:
    """Two interpreters with different hash seeds print identical DOT and Mermaid (no set-order leaks)."""
    outputs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        dot = subprocess.run(
            [sys.executable, "-m", "runfsm", "diagram", "--format", "dot"], capture_output=True, check=True, env=env
        ).stdout
        mmd = subprocess.run([sys.executable, "-m", "runfsm", "diagram"], capture_output=True, check=True, env=env)
        outputs.append((dot, mmd.stdout))
    assert outputs[0] == outputs[1]
    assert outputs[0][0] == to_dot(lifecycle_diagram()).encode()


@given(st.lists(st.sampled_from(RUN_EDGES), unique=True, min_size=1))
def test_any_sub_lifecycle_renders_exactly_its_edges(edges: list[object]) -> None:
    """For any lifecycle built from some of the edges, the Mermaid output has exactly those edges, in order."""
    sub = Lifecycle("sub", RunStatus, edges, initial=RunStatus.Null)  # type: ignore[arg-type]
    text = to_mermaid(lifecycle_diagram(sub))
    inner = [k for k in _mermaid_edges(text) if "[*]" not in k]
    assert inner == [(e.source.name, e.dest.name) for e in sub.edges]
    assert text == to_mermaid(lifecycle_diagram(sub))


# ----------------------------------------------------------------------------- SVG and PNG


def _svg_states(svg: str) -> dict[str, str]:
    root = ET.fromstring(svg)  # well-formed XML or this raises
    states: dict[str, str] = {}
    for g in root.iter(f"{SVG_NS}g"):
        if g.get("class") == "node" and (g.get("id") or "").startswith("state-"):
            title = g.find(f"{SVG_NS}title")
            texts = " ".join(t.text or "" for t in g.iter(f"{SVG_NS}text"))
            assert title is not None
            states[title.text or ""] = texts
    return states


def test_svg_is_well_formed_and_shows_all_eleven_states() -> None:
    """The SVG parses as XML and has one node per state, labelled with its wire value (or name)."""
    states = _svg_states(to_svg(lifecycle_diagram()))
    assert set(states) == {s.name for s in RunStatus}
    for s in RunStatus:
        assert s.label in states[s.name]


def test_svg_has_no_graphviz_version_and_names_its_dot() -> None:
    """The version comment is replaced by the sha256 of the DOT the SVG was rendered from."""
    d = lifecycle_diagram()
    svg = to_svg(d)
    assert "Generated by graphviz" not in svg
    digest = hashlib.sha256(to_dot(d).encode()).hexdigest()
    assert f"<!-- runfsm dot sha256={digest} -->" in svg


def test_png_is_a_png() -> None:
    """PNG output starts with the PNG signature."""
    assert render(lifecycle_diagram(), format="png").startswith(b"\x89PNG\r\n\x1a\n")


def test_missing_dot_program_says_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Without ``dot`` on PATH, SVG fails with GraphvizMissing naming the package to install; DOT still works."""
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(GraphvizMissing, match="apt-get install graphviz") as info:
        render(lifecycle_diagram(), format="svg")
    assert info.value.what == "program"
    assert isinstance(info.value, RuntimeError)
    assert render(lifecycle_diagram(), format="dot").startswith(b"digraph")
    assert render(lifecycle_diagram(), format="mermaid").startswith(b"---")


def test_missing_graphviz_package_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the ``graphviz`` package, PNG fails naming the ``diagrams`` extra."""
    monkeypatch.setitem(sys.modules, "graphviz", None)  # makes `import graphviz` raise ImportError
    with pytest.raises(GraphvizMissing, match=r"pip install 'runfsm\[diagrams\]'") as info:
        render(lifecycle_diagram(), format="png")
    assert info.value.what == "package"


def test_render_rejects_unknown_format() -> None:
    """An unknown format is a ValueError listing the valid ones."""
    with pytest.raises(ValueError, match="mermaid, dot, svg, png"):
        render(lifecycle_diagram(), format="pdf")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.mmd", "mermaid"),
        ("a.MERMAID", "mermaid"),
        ("a.gv", "dot"),
        ("a.dot", "dot"),
        ("x.svg", "svg"),
        ("p.png", "png"),
        ("p.txt", "mermaid"),
    ],
)
def test_format_for_reads_the_extension(name: str, fmt: str) -> None:
    """The output file's extension picks the format; anything else falls back to Mermaid."""
    assert format_for(name) == fmt


# ----------------------------------------------------------------------------- committed files


@pytest.mark.parametrize("lifecycle", list(PRESETS.values()), ids=list(PRESETS))
@pytest.mark.parametrize(("suffix", "fmt"), [("mmd", "mermaid"), ("dot", "dot")])
def test_committed_text_diagrams_are_current(suffix: str, fmt: Format, lifecycle: Lifecycle[Any]) -> None:
    """diagrams/<key>-lifecycle.{mmd,dot} are byte for byte what each declaration renders (diagrams/update.py)."""
    committed = (ROOT / "diagrams" / f"{diagram_stem(lifecycle)}.{suffix}").read_bytes()
    assert committed == render(lifecycle_diagram(lifecycle), format=fmt), "stale: run `python diagrams/update.py`"


def _svg_signature(svg: str) -> list[tuple[str, str, str, tuple[str, ...]]]:
    """What an SVG shows, without coordinates: each node's and edge's id, title, text and colours."""
    root = ET.fromstring(svg)
    out = []
    for g in root.iter(f"{SVG_NS}g"):
        if g.get("class") not in ("node", "edge", "cluster"):
            continue
        title = g.find(f"{SVG_NS}title")
        texts = " ".join(t.text or "" for t in g.iter(f"{SVG_NS}text"))
        paints = tuple(sorted({f"{k}={v}" for el in g.iter() for k, v in el.attrib.items() if k in ("fill", "stroke")}))
        out.append((g.get("id") or "", (title.text or "") if title is not None else "", texts, paints))
    return out


@pytest.mark.parametrize("lifecycle", list(PRESETS.values()), ids=list(PRESETS))
def test_committed_svg_is_current(lifecycle: Lifecycle[Any]) -> None:
    """diagrams/<key>-lifecycle.svg was rendered from the current DOT and shows what a fresh render shows.

    Coordinates may differ between Graphviz versions, so the check is: the embedded DOT hash
    matches, and ids, titles, texts and colours equal those of a fresh rendering.
    """
    committed = (ROOT / "diagrams" / f"{diagram_stem(lifecycle)}.svg").read_text(encoding="utf-8")
    digest = hashlib.sha256(to_dot(lifecycle_diagram(lifecycle)).encode()).hexdigest()
    assert f"<!-- runfsm dot sha256={digest} -->" in committed, "stale: run `python diagrams/update.py`"
    assert _svg_signature(committed) == _svg_signature(to_svg(lifecycle_diagram(lifecycle)))
    assert set(_svg_states(committed)) == {s.name for s in lifecycle.states}


def test_committed_samples_overlay_is_current(tmp_path: Path) -> None:
    """diagrams/samples-overlay.svg is the bundled samples drawn now (same DOT hash, same content)."""
    fresh = tmp_path / "overlay.svg"
    assert main(["diagram", "--overlay", *sample_paths(), *SAMPLES_OVERLAY_ARGS, "-o", str(fresh)]) == 0
    committed = (ROOT / "diagrams" / "samples-overlay.svg").read_text(encoding="utf-8")
    now = fresh.read_text(encoding="utf-8")
    digest = re.search(r"<!-- runfsm dot sha256=(\w+) -->", now)
    assert digest is not None
    assert digest[0] in committed, "stale: run `python diagrams/update.py`"
    assert _svg_signature(committed) == _svg_signature(now)


@pytest.mark.parametrize("lifecycle", list(PRESETS.values()), ids=list(PRESETS))
def test_readme_embeds_every_presets_diagram_table_and_sources(lifecycle: Lifecycle[Any]) -> None:
    """The README has each preset's block: its Mermaid diagram, its transition table, its webhooks and sources."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    begin, end_marker = readme_markers(lifecycle)
    start, end = readme.find(begin), readme.find(end_marker)
    assert 0 <= start < end, f"README markers of {lifecycle.key} missing"
    block = readme_block(lifecycle)
    assert readme[start : end + len(end_marker) + 1] == block, "stale: run `python diagrams/update.py`"
    assert f'title: "{lifecycle.name} lifecycle"' in block
    for key in {key for edge in lifecycle.edges for key in cited_keys(edge.evidence)}:
        source = lifecycle.sources[key]
        assert f"- **{source.key}**: [{source.title}]({source.url})" in block


def test_readme_embeds_the_current_diagram_and_table() -> None:
    """The README's lifecycle block is the current Mermaid diagram and transition table."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start, end = readme.find(README_BEGIN), readme.find(README_END)
    assert 0 <= start < end, "README markers missing"
    assert readme[start : end + len(README_END) + 1] == readme_block(), "stale: run `python diagrams/update.py`"
    assert '```mermaid\n---\ntitle: "assistants-run lifecycle"\n---\nstateDiagram-v2\n' in readme_block()
    assert "| requires_action | queued | documented | submit_tool_outputs |" in readme_block()


def test_diagram_modules_import_no_graphviz() -> None:
    """Importing the diagram, overlay and report modules loads neither graphviz nor transitions' diagram code."""
    code = (
        "import sys, runfsm.drawing.diagram, runfsm.drawing.overlay, runfsm.drawing.report, runfsm.commands.diagram\n"
        "heavy = ('graphviz', 'transitions.extensions')\n"
        "bad = sorted(m for m in sys.modules if m in heavy or m.startswith(tuple(h + '.' for h in heavy)))\n"
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, text=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("module", ["runfsm.drawing.diagram", "runfsm.drawing.overlay"])
def test_docstring_examples_hold(module: str) -> None:
    """The examples in the modules' docstrings run and give what they show (pytest collects only tests/)."""
    import doctest
    import importlib

    failures, tried = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert failures == 0
    assert tried > 0
