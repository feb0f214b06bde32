"""State diagrams of the lifecycle: one neutral model, rendered as Mermaid, DOT, SVG or PNG.

:func:`lifecycle_diagram` derives a :class:`Diagram` from the declaration (``RUN_LIFECYCLE``);
:mod:`runfsm.drawing.overlay` derives one from observed runs. The renderers only read the model:
:func:`to_mermaid` and :func:`to_dot` are pure string builders (no dependency), :func:`render`
pipes the DOT through Graphviz for SVG and PNG (the ``graphviz`` package from the ``diagrams``
extra, plus the ``dot`` program; :class:`~runfsm.exceptions.GraphvizMissing` says what to
install when either is absent). Same model, same bytes: nothing depends on time, hashing order
or the Graphviz version comment, which is stripped from SVG output.

Why not ``transitions.extensions.diagrams`` (``GraphMachine``)? It was considered on purpose
and does not serve here:

* Its styling is per *model state* (named styles ``active``/``previous``/``inactive`` applied
  to the current and previous state). Documented versus lenient edges, client-call labels,
  per-edge counts and line widths would all have to be forced through its private
  ``custom_styles`` dictionaries.
* An overlay adds edges the lifecycle forbids (observed illegal jumps). In a ``GraphMachine``
  every drawn edge is a transition, so drawing one would make it legal.
* Its edge labels are trigger names; ours are observed statuses, so every label would repeat
  the destination. Its DOT output needs the ``graphviz`` package even for plain source, and its
  Mermaid output adds a class line per state and a title block we do not control.
* It would be a second machine (a ``MarkupMachine`` with a model) next to the shared one.

So the diagram reads the declaration directly, and a test checks that its edges are exactly
the transitions of the shared ``transitions`` machine, so the two cannot drift apart.
"""

from __future__ import annotations

import enum
import hashlib
import html
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, overload

from runfsm.exceptions import DiagramError, GraphvizMissing
from runfsm.lifecycle import Lifecycle
from runfsm.lifecycles import RUN_LIFECYCLE
from runfsm.printable import printable
from runfsm.vocabulary import StateKind, Trigger

if TYPE_CHECKING:
    from runfsm.vocabulary import LifecycleState

__all__ = [
    "EXTENSIONS",
    "FORMATS",
    "Diagram",
    "DiagramEdge",
    "DiagramNode",
    "EdgeCounts",
    "EdgeRole",
    "Format",
    "edge_label",
    "format_for",
    "graphviz_available",
    "legend_lines",
    "lifecycle_diagram",
    "render",
    "state_label",
    "to_dot",
    "to_mermaid",
    "to_svg",
]

Format = Literal["mermaid", "dot", "svg", "png"]
FORMATS: tuple[Format, ...] = ("mermaid", "dot", "svg", "png")
"""Output formats: the first two are text built here, the last two need Graphviz."""


class EdgeRole(enum.Enum):
    """Why an edge is on the diagram."""

    DOCUMENTED = "documented"
    """A documented edge of the lifecycle."""
    LENIENT = "lenient"
    """An undocumented edge the lifecycle accepts on evidence."""
    ILLEGAL = "illegal"
    """Overlay only: an observed jump the lifecycle forbids."""
    START = "start"
    """Overlay only: watching began in ``dest`` without an edge from the initial state.

    A poll's first observation, or a stream capture joined mid-run (``StepKind.JOINED``).
    """


@dataclass(frozen=True, slots=True)
class EdgeCounts:
    """How often observed runs used an edge (overlay diagrams)."""

    observed: int = 0
    """Seen directly: two consecutive observations."""
    inferred: int = 0
    """Passed through between two polls, not seen."""
    unrecorded: int = 0
    """Inferred on a path that needs a client call the log does not contain."""
    started: int = 0
    """Poll mode: the first observation of a run (watching began in ``dest``)."""
    illegal: int = 0
    """Rejected jumps."""

    @property
    def total(self) -> int:
        """Every use of the edge."""
        return self.observed + self.inferred + self.unrecorded + self.started + self.illegal

    @property
    def seen(self) -> bool:
        """True if at least one use was observed directly (not inferred)."""
        return self.observed + self.started + self.illegal > 0


@dataclass(frozen=True, slots=True)
class DiagramNode:
    """One state, as drawn."""

    state: LifecycleState
    label: str
    kind: StateKind
    reached: bool = True
    """Overlay: False for states no run entered (drawn greyed out)."""
    entered: int | None = None
    """Overlay: how many times runs entered the state (observed, inferred or first seen)."""
    highlighted: bool = False
    """Overlay: on the highlighted run's path."""
    illegal_out: int = 0
    """Overlay with illegal jumps aggregated: how many illegal jumps left this state (written in it, not drawn)."""
    first_seen: int = 0
    """Overlay with first sightings aggregated: how many runs were first seen in this state (written in it)."""

    @property
    def id(self) -> str:
        """Identifier in Mermaid and DOT: the member name."""
        return self.state.name


@dataclass(frozen=True, slots=True)
class DiagramEdge:
    """One edge, as drawn."""

    source: LifecycleState
    dest: LifecycleState
    role: EdgeRole
    trigger: Trigger | None
    """Who causes it (None for illegal and start edges)."""
    counts: EdgeCounts | None = None
    """Overlay: how often runs used it (None on the plain lifecycle diagram)."""
    steps: tuple[int, ...] = ()
    """Overlay: positions (from 1) of this edge on the highlighted run's path."""

    @property
    def is_client_call(self) -> bool:
        """True for edges caused by submit_tool_outputs or cancel."""
        return self.trigger is not None and self.trigger.is_client_call

    @property
    def id(self) -> str:
        """Identifier in SVG output: role and endpoints."""
        prefix = "edge" if self.role in (EdgeRole.DOCUMENTED, EdgeRole.LENIENT) else self.role.value
        return f"{prefix}-{self.source.name}-{self.dest.name}"


@dataclass(frozen=True, slots=True)
class Diagram:
    """A drawable lifecycle: nodes in ordinal order, declared edges first, then overlay extras."""

    title: str
    initial: LifecycleState
    nodes: tuple[DiagramNode, ...]
    edges: tuple[DiagramEdge, ...]
    overlay: bool = False
    """True when the counts come from observed runs."""
    caption: str = ""
    """One line under the title (overlay: how many runs, which one is highlighted)."""
    highlight: str | None = None
    """Overlay: the run id drawn as a path."""
    max_count: int = 0
    """Overlay: the largest edge total (scales line widths)."""
    legend: bool = True
    """Draw the legend (:func:`legend_lines`) under the diagram; False where the page shows it as text."""
    nodesep: float = 0.5
    """Graphviz ``nodesep``, the gap between neighbouring states in inches (smaller: a narrower drawing)."""


# ----------------------------------------------------------------------------- the model


def state_label(state: LifecycleState) -> str:
    """What a state is called on a diagram: its wire value, or its name for the client-side ones."""
    return state.label


def lifecycle_diagram(lifecycle: Lifecycle[Any] = RUN_LIFECYCLE) -> Diagram:
    """The lifecycle itself: every state and every declared edge, in declaration order.

    >>> d = lifecycle_diagram()
    >>> len(d.nodes), len(d.edges), d.edges[0].source.name, d.edges[0].dest.name
    (11, 22, 'Null', 'Created')
    """
    if not isinstance(lifecycle, Lifecycle):
        raise TypeError(f"lifecycle_diagram takes a Lifecycle, got {lifecycle!r}")
    nodes = tuple(DiagramNode(s, state_label(s), s.kind) for s in lifecycle.states)
    edges = tuple(
        DiagramEdge(e.source, e.dest, EdgeRole.LENIENT if e.is_lenient else EdgeRole.DOCUMENTED, e.trigger)
        for e in lifecycle.edges
    )
    return Diagram(title=f"{lifecycle.name} lifecycle", initial=lifecycle.initial, nodes=nodes, edges=edges)


def _trigger_label(trigger: Trigger | None, dest: LifecycleState) -> str:
    if trigger is Trigger.CREATE and dest.kind is StateKind.CLIENT:
        return "create(stream=True)"
    if trigger is Trigger.SUBMIT_TOOL_OUTPUTS:
        return "submit_tool_outputs()"
    if trigger is Trigger.CANCEL:
        return "cancel()"
    if trigger is Trigger.CREATE:
        return "create()"
    return ""


_X = "\u00d7"  # MULTIPLICATION SIGN, as in "x12" (written as an escape to keep the source ASCII)


def _count_label(counts: EdgeCounts) -> str:
    parts: list[str] = []
    if counts.illegal:
        parts.append(f"{_X}{counts.illegal}")
    if counts.observed:
        parts.append(f"{_X}{counts.observed}")
    if counts.started:
        parts.append(f"first seen {_X}{counts.started}")
    if counts.inferred:
        parts.append(f"inferred {_X}{counts.inferred}")
    if counts.unrecorded:
        parts.append(f"unrecorded call {_X}{counts.unrecorded}")
    return ", ".join(parts)


def edge_label(edge: DiagramEdge, *, overlay: bool = False) -> str:
    """The edge's text: the client call that causes it, ``lenient``, and (overlay) its counts."""
    parts: list[str] = []
    if edge.role in (EdgeRole.DOCUMENTED, EdgeRole.LENIENT):
        call = _trigger_label(edge.trigger, edge.dest)
        # overlays drop the plain create() labels: every run has one, the counts say more
        if call and not (overlay and call == "create()"):
            parts.append(call)
        if edge.role is EdgeRole.LENIENT:
            parts.append("lenient")
    if overlay and edge.counts is not None and edge.counts.total:
        parts.append(_count_label(edge.counts))
    if edge.steps:
        parts.append("run step " + ",".join(str(i) for i in edge.steps))
    return " · ".join(parts)


# ----------------------------------------------------------------------------- Mermaid

_MERMAID_CLASSES = (
    ("client", "fill:#f1f3f4,stroke:#80868b,stroke-dasharray:4 3,color:#3c4043"),
    ("active", "fill:#e8f0fe,stroke:#1a73e8"),
    ("paused", "fill:#fef7e0,stroke:#e37400,stroke-width:3px"),
    ("terminal", "fill:#e6f4ea,stroke:#137333,stroke-width:3px"),
    ("unreached", "fill:#f8f9fa,stroke:#dadce0,color:#9aa0a6"),
    ("highlighted", "stroke:#9334e6,stroke-width:4px"),
)


def _mermaid_text(text: str) -> str:
    # Mermaid has no escape for these inside labels: replace them with look-alikes.
    text = " ".join(printable(line) for line in text.splitlines())
    return text.replace('"', "'").replace(":", "\u2236").replace(";", ",").replace("\n", " ").replace("#", "no.")


def to_mermaid(diagram: Diagram) -> str:
    """The diagram as a Mermaid ``stateDiagram-v2`` (renders on GitHub).

    Mermaid state diagrams cannot style single edges, so edge kinds are written in the
    labels (``lenient``, the client call, ``ILLEGAL``); states carry classes (client,
    active, paused, terminal, and in overlays unreached and highlighted).
    """
    title = printable(" ".join(diagram.title.split())).replace("\\", "\\\\").replace('"', '\\"')
    lines = ["---", f'title: "{title}"', "---", "stateDiagram-v2"]  # a YAML double-quoted string
    if diagram.caption:
        lines.append(f"    %% {_mermaid_text(diagram.caption)}")
    classes: dict[str, list[str]] = {}
    for node in diagram.nodes:
        classes.setdefault("unreached" if not node.reached else node.kind.value, []).append(node.id)
        if node.highlighted:
            classes.setdefault("highlighted", []).append(node.id)
    lines.extend(f"    classDef {name} {style}" for name, style in _MERMAID_CLASSES if name in classes)
    for node in diagram.nodes:
        text = node.label
        if node.kind is StateKind.CLIENT:
            text += " (client side)"
        elif node.kind is StateKind.PAUSED:
            text += " (paused)"
        if diagram.overlay and node.entered is not None:
            text += f" {_X}{node.entered}"
        text += "".join(f" · {line}" for line in _aggregated(node))
        lines.append(f'    state "{_mermaid_text(text)}" as {node.id}')
    lines.append(f"    [*] --> {diagram.initial.name}")
    for edge in diagram.edges:
        label = edge_label(edge, overlay=diagram.overlay)
        if edge.role is EdgeRole.ILLEGAL:
            label = "ILLEGAL " + label
        suffix = f": {_mermaid_text(label)}" if label else ""
        lines.append(f"    {edge.source.name} --> {edge.dest.name}{suffix}")
    lines.extend(f"    {node.id} --> [*]" for node in diagram.nodes if node.kind is StateKind.TERMINAL)
    lines.extend(f"    class {', '.join(classes[name])} {name}" for name, _style in _MERMAID_CLASSES if name in classes)
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- DOT

_COLORS = {
    "documented": "#202124",
    "lenient": "#c26401",
    "client": "#1a56db",
    "illegal": "#d93025",
    "start": "#80868b",
    "unused": "#bdc1c6",
    "highlight": "#9334e6",
}
_NODE_STYLE: dict[StateKind, str] = {
    StateKind.CLIENT: 'shape=box, style="rounded,dashed,filled", fillcolor="#f1f3f4", color="#80868b"',
    StateKind.ACTIVE: 'shape=box, style="rounded,filled", fillcolor="#e8f0fe", color="#1a73e8"',
    StateKind.PAUSED: 'shape=box, style="rounded,filled,bold", fillcolor="#fef7e0", color="#e37400"',
    StateKind.TERMINAL: 'shape=box, style="rounded,filled", peripheries=2, fillcolor="#e6f4ea", color="#137333"',
}
_UNREACHED_STYLE = 'shape=box, style="rounded,filled", fillcolor="#f8f9fa", color="#dadce0", fontcolor="#9aa0a6"'
_LEGEND = (
    "black: documented edge    orange, open arrow: lenient (undocumented, accepted on evidence)",
    "blue label: caused by a client call    double border: terminal    orange border: paused (waits for the client)",
    "dashed box: client side (before the run exists)",
)
_OVERLAY_LEGEND = (
    "label \u00d7N and line width: how often runs took the edge    dashed: only inferred between polls",
    "red: illegal jumps    grey dotted: polling began there    grey state: never reached",
)
_AGGREGATED_LEGEND = (
    "too many kinds to draw one by one: a state's red line counts the illegal jumps out of it,"
    " its grey line the runs first seen there"
)


def _q(text: str) -> str:
    """A DOT double-quoted string drawn literally: ``&`` (entities) and backslash escapes are neutralised.

    Newlines break the label; every other control character is shown as an escape (:func:`printable`),
    so the SVG Graphviz writes is valid XML whatever the input.
    """
    text = "\n".join(printable(line) for line in text.split("\n"))
    escaped = text.replace("&", "&amp;").replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n").replace("\r", "") + '"'


def _penwidth(total: int, max_count: int) -> str:
    if max_count <= 0 or total <= 0:
        return "1"
    return f"{1 + 5 * math.log1p(total) / math.log1p(max_count):.2f}"


def _dot_edge(edge: DiagramEdge, diagram: Diagram) -> str:
    attrs: list[str] = [f"id={_q(edge.id)}"]
    label = edge_label(edge, overlay=diagram.overlay)
    color = _COLORS["lenient"] if edge.role is EdgeRole.LENIENT else _COLORS["documented"]
    style = "solid"
    if edge.role is EdgeRole.LENIENT:
        attrs.append("arrowhead=empty")
    if edge.role is EdgeRole.ILLEGAL:
        color = _COLORS["illegal"]
        label = "ILLEGAL " + label
        attrs.extend(["fontcolor=" + _q(_COLORS["illegal"]), "constraint=false"])
    elif edge.role is EdgeRole.START:
        color, style = _COLORS["start"], "dotted"
        attrs.extend(["fontcolor=" + _q(_COLORS["start"]), "constraint=false"])
    elif edge.is_client_call:
        attrs.append("fontcolor=" + _q(_COLORS["client"]))
    if diagram.overlay and edge.counts is not None:
        counts = edge.counts
        if counts.total == 0:
            color = _COLORS["unused"]
            attrs.append("fontcolor=" + _q(_COLORS["unused"]))
        elif not counts.seen and edge.role is not EdgeRole.START:
            style = "dashed"
        attrs.append(f"penwidth={_penwidth(counts.total, diagram.max_count)}")
    if edge.steps:  # on the highlighted run's path (illegal jumps stay red, numbered in purple)
        if edge.role is not EdgeRole.ILLEGAL:
            color = _COLORS["highlight"]
        attrs.append("fontcolor=" + _q(_COLORS["highlight"]))
    attrs.extend([f"color={_q(color)}", f"style={style}"])
    if label:
        attrs.append(f"label={_q(label)}")
    return f"  {edge.source.name} -> {edge.dest.name} [{', '.join(attrs)}];"


def _aggregated(node: DiagramNode) -> list[str]:
    """The lines an overlay writes in a state for what it does not draw as edges."""
    lines = []
    if node.first_seen:
        lines.append(f"first seen here {_X}{node.first_seen:,}")
    if node.illegal_out:
        lines.append(f"illegal jumps out {_X}{node.illegal_out:,}")
    return lines


def _dot_label(node: DiagramNode, text: str) -> str:
    """The state's DOT label: a quoted string, or an HTML-like one when aggregated lines need their colours."""
    if not node.first_seen and not node.illegal_out:
        return _q(text)
    rows = [html.escape(printable(line), quote=False) for line in text.split("\n")]
    if node.first_seen:
        rows.append(f'<FONT COLOR="{_COLORS["start"]}" POINT-SIZE="10">first seen here {_X}{node.first_seen:,}</FONT>')
    if node.illegal_out:
        rows.append(
            f'<FONT COLOR="{_COLORS["illegal"]}" POINT-SIZE="10">illegal jumps out {_X}{node.illegal_out:,}</FONT>'
        )
    return "<" + "<BR/>".join(rows) + ">"


def _dot_node(node: DiagramNode, diagram: Diagram) -> str:
    label = node.label
    if node.kind is StateKind.PAUSED:
        label += "\n(paused)"
    if diagram.overlay and node.entered is not None:
        label += f"\n{_X}{node.entered}"
    style = _NODE_STYLE[node.kind] if node.reached else _UNREACHED_STYLE
    extra = ""
    if node.highlighted:
        extra = f", penwidth=3, color={_q(_COLORS['highlight'])}"
    return f"  {node.id} [id={_q('state-' + node.id)}, label={_dot_label(node, label)}, {style}{extra}];"


def legend_lines(diagram: Diagram) -> tuple[str, ...]:
    """What the colours and line styles of ``diagram`` mean, one line per group."""
    legend = _LEGEND + (_OVERLAY_LEGEND if diagram.overlay else ())
    if any(n.illegal_out or n.first_seen for n in diagram.nodes):
        legend += (_AGGREGATED_LEGEND,)
    return legend


def to_dot(diagram: Diagram) -> str:
    """The diagram as Graphviz DOT source (a plain string; needs nothing installed)."""
    title = diagram.title + (f"\n{diagram.caption}" if diagram.caption else "")
    lines = [
        f"digraph {_q(diagram.title)} {{",
        f"  graph [label={_q(title)}, labelloc=t, fontname=Helvetica, fontsize=16, rankdir=TB,"
        f" nodesep={diagram.nodesep:g}, ranksep=0.55, newrank=true];",
        '  node [fontname=Helvetica, fontsize=12, margin="0.18,0.06"];',
        "  edge [fontname=Helvetica, fontsize=9, arrowsize=0.8];",
    ]
    client = [n for n in diagram.nodes if n.kind is StateKind.CLIENT]
    if client:
        lines.append("  subgraph cluster_client {")
        lines.append(
            f'    label="client side"; fontsize=10; fontcolor={_q(_COLORS["start"])};'
            f' style="rounded,dashed"; color={_q(_COLORS["unused"])};'
        )
        lines.extend("  " + _dot_node(n, diagram) for n in client)
        lines.append("  }")
    lines.extend(_dot_node(n, diagram) for n in diagram.nodes if n.kind is not StateKind.CLIENT)
    terminal = [n.id for n in diagram.nodes if n.kind is StateKind.TERMINAL]
    if terminal:
        lines.append(f"  {{ rank=same; {'; '.join(terminal)}; }}")
    lines.extend(_dot_edge(e, diagram) for e in diagram.edges)
    if diagram.legend:
        legend_label = '"' + "".join(_q(line)[1:-1] + "\\l" for line in legend_lines(diagram)) + '"'
        grey = _q(_COLORS["start"])
        lines.append(f"  legend [id={_q('legend')}, shape=plain, fontsize=9, fontcolor={grey}, label={legend_label}];")
        if terminal:
            lines.append(f"  {terminal[-1]} -> legend [style=invis];")
    lines.append("}")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- Graphviz


def _graphviz() -> object:
    try:
        import graphviz  # noqa: PLC0415  (optional dependency, imported only for SVG/PNG)
    except ImportError as err:
        raise GraphvizMissing(
            "the 'graphviz' Python package is not installed: pip install 'runfsm[diagrams]'", what="package"
        ) from err
    return graphviz


def graphviz_available() -> bool:
    """True when SVG and PNG can be rendered (the ``graphviz`` package and the ``dot`` program)."""
    try:
        render(lifecycle_diagram(), format="svg")
    except GraphvizMissing:
        return False
    return True


_VERSION_COMMENT = re.compile(rb"<!-- Generated by graphviz version [^>]*-->\n?")


_SPLINE_FAILURES = ("routesplines", "triangulation failed", "lost ")
"""What dot says when its spline router gives up on a layout (a Graphviz bug some overlays trigger)."""


def _run_dot(source: str, fmt: str) -> bytes:
    """Run ``dot``; if its spline router fails on this graph, lay the edges out as straight lines instead."""
    try:
        return _run_dot_once(source, fmt)
    except DiagramError as err:
        if not any(text in str(err) for text in _SPLINE_FAILURES):
            raise
    return _run_dot_once(source.rstrip().removesuffix("}") + "  splines=line;\n}\n", fmt)


def _run_dot_once(source: str, fmt: str) -> bytes:
    graphviz = _graphviz()
    try:
        out: bytes = graphviz.pipe("dot", fmt, source.encode("utf-8"), quiet=True)  # type: ignore[attr-defined]
    except graphviz.ExecutableNotFound as err:  # type: ignore[attr-defined]
        raise GraphvizMissing(
            "the Graphviz 'dot' program is not on PATH: install Graphviz "
            "(apt-get install graphviz, brew install graphviz, or https://graphviz.org/download/)",
            what="program",
        ) from err
    except graphviz.CalledProcessError as err:  # type: ignore[attr-defined]
        stderr = err.stderr.decode("utf-8", "replace") if isinstance(err.stderr, bytes) else str(err.stderr)
        raise DiagramError(f"Graphviz dot failed to render {fmt}: {stderr.strip()}") from err
    return out


def to_svg(diagram: Diagram) -> str:
    """The diagram as SVG, through Graphviz; the version comment is replaced by the DOT's hash.

    The hash comment (``<!-- runfsm dot sha256=... -->``) names the exact DOT the SVG was
    rendered from, so a committed SVG can be checked against the current declaration on any
    Graphviz version.
    """
    source = to_dot(diagram)
    svg = _VERSION_COMMENT.sub(b"", _run_dot(source, "svg"))
    digest = hashlib.sha256(source.encode("utf-8")).hexdigest()
    text = svg.decode("utf-8")
    marker = "<svg "
    at = text.find(marker)
    if at < 0:  # pragma: no cover - Graphviz always writes an <svg> element
        raise DiagramError("Graphviz returned no <svg> element")
    return f"{text[:at]}<!-- runfsm dot sha256={digest} -->\n{text[at:]}"


def render(diagram: Diagram, *, format: Format = "mermaid") -> bytes:
    """The diagram in ``format`` as bytes (UTF-8 text for mermaid, dot and svg)."""
    if format == "mermaid":
        return to_mermaid(diagram).encode("utf-8")
    if format == "dot":
        return to_dot(diagram).encode("utf-8")
    if format == "svg":
        return to_svg(diagram).encode("utf-8")
    if format == "png":
        return _run_dot(to_dot(diagram), "png")
    raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")


EXTENSIONS: dict[str, Format] = {
    ".mmd": "mermaid",
    ".mermaid": "mermaid",
    ".dot": "dot",
    ".gv": "dot",
    ".svg": "svg",
    ".png": "png",
}
"""The file extensions each format is written under (lower case)."""


@overload
def format_for(path: str, *, default: Format = "mermaid") -> Format: ...
@overload
def format_for(path: str, *, default: None) -> Format | None: ...


def format_for(path: str, *, default: Format | None = "mermaid") -> Format | None:
    """The format a file name asks for by its extension (``.mmd``, ``.dot``/``.gv``, ``.svg``, ``.png``).

    An unknown extension gives ``default`` (``None`` to tell it apart).
    """
    lowered = path.lower()
    for suffix, fmt in EXTENSIONS.items():
        if lowered.endswith(suffix):
            return fmt
    return default
