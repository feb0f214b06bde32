"""``runfsm lifecycle``: the table of every preset carries a legend of the sources its evidence cites."""

from __future__ import annotations

from typing import Any

import pytest

from runfsm.commands.lifecycle import markdown_table
from runfsm.lifecycle import Lifecycle, cited_keys
from runfsm.lifecycles import PRESETS


@pytest.mark.parametrize("lifecycle", list(PRESETS.values()), ids=lambda lc: lc.name)
def test_every_cited_source_is_listed_with_its_title_and_url(lifecycle: Lifecycle[Any]) -> None:
    """Each key an edge cites appears once under the table, as a link: a reader can follow the evidence."""
    table = markdown_table(lifecycle)
    cited = {key for edge in lifecycle.edges for key in cited_keys(edge.evidence)}
    assert cited, "every preset's evidence cites sources"
    for key in cited:
        source = lifecycle.sources[key]
        assert table.count(f"- **{key}**: [{source.title}]({source.url})") == 1
    assert "shared/" not in table  # nothing points outside the project
