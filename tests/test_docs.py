"""The documentation runs: module doctests and the README's ``pycon`` sessions."""

from __future__ import annotations

import doctest
import importlib
import importlib.resources
import pkgutil
import re
from pathlib import Path

import pytest

import runfsm
import runfsm.invariants
import runfsm.printable
import runfsm.status
import runfsm.tracker
import runfsm.validation

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.mark.parametrize(
    "module", [runfsm.status, runfsm.tracker, runfsm.invariants, runfsm.validation, runfsm.printable]
)
def test_module_doctests(module: object) -> None:
    """Every example in the core modules' docstrings is true."""
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)  # type: ignore[arg-type]
    assert result.failed == 0
    assert result.attempted > 0


_EVERY_MODULE = sorted(m.name for m in pkgutil.walk_packages(runfsm.__path__, "runfsm.") if m.name != "runfsm.__main__")


@pytest.mark.parametrize("name", _EVERY_MODULE)
def test_every_modules_doctests(name: str) -> None:
    """Every example in every module's docstrings is true (a module of an extra not installed is skipped)."""
    try:
        module = importlib.import_module(name)
    except ImportError as err:  # pragma: no cover - CI installs every extra
        pytest.skip(f"{name} needs {err.name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_readme_sessions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's ``pycon`` blocks, run in order as one session, all pass.

    They run where a reader of the README would: beside ``runfsm/samples/`` (copied from the
    installed package, so this also holds when testing the wheel without the source tree).
    """
    samples = importlib.resources.files("runfsm") / "samples"
    (tmp_path / "runfsm" / "samples").mkdir(parents=True)
    for item in samples.iterdir():
        if item.is_file():
            (tmp_path / "runfsm" / "samples" / item.name).write_bytes(item.read_bytes())
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```pycon\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)
    assert blocks, "the README shows a pycon session"
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    session: dict[str, object] = {"runfsm": runfsm}
    for n, block in enumerate(blocks):
        test = parser.get_doctest(block, session, f"README[{n}]", str(README), 0)
        runner.run(test, clear_globs=False)
        session = test.globs  # DocTest copies its globals: carry the session on
    assert runner.failures == 0


def test_readme_shows_what_the_main_job_prints(capsys: pytest.CaptureFixture[str]) -> None:
    """The README's ``runfsm validate --sample`` block is what the command prints now, and its exit code."""
    from runfsm.commands.main import main

    text = README.read_text(encoding="utf-8")
    found = re.search(
        r"\n\$ pip install '\.\[cli\]' && runfsm validate --sample[^\n]*\n(.*?)\$ echo \$\?\n(\d+)\n",
        text,
        flags=re.DOTALL,
    )
    assert found, "the README shows the main job's output and exit code"
    code = main(["validate", "--sample"])
    assert capsys.readouterr().out == found.group(1)
    assert code == int(found.group(2))
