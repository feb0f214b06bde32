"""Drawing the lifecycle: state diagrams, observed histories overlaid on them, the HTML report.

SVG and PNG go through Graphviz (extra ``[diagrams]`` plus the ``dot`` program); Mermaid and
DOT need nothing installed.
"""

from runfsm.drawing.diagram import (
    EXTENSIONS,
    FORMATS,
    Diagram,
    DiagramEdge,
    DiagramNode,
    EdgeCounts,
    EdgeRole,
    Format,
    edge_label,
    format_for,
    graphviz_available,
    legend_lines,
    lifecycle_diagram,
    render,
    state_label,
    to_dot,
    to_mermaid,
    to_svg,
)
from runfsm.drawing.overlay import Overlay, overlay_diagram
from runfsm.drawing.report import Report, write_report

__all__ = [
    "EXTENSIONS",
    "FORMATS",
    "Diagram",
    "DiagramEdge",
    "DiagramNode",
    "EdgeCounts",
    "EdgeRole",
    "Format",
    "Overlay",
    "Report",
    "edge_label",
    "format_for",
    "graphviz_available",
    "legend_lines",
    "lifecycle_diagram",
    "overlay_diagram",
    "render",
    "state_label",
    "to_dot",
    "to_mermaid",
    "to_svg",
    "write_report",
]
