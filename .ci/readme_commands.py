"""The README's two commands ("The two commands" section): print them, or run one exactly as written.

``--run main`` clones this repository into a temporary folder (no venv active, a clean PATH
apart from the system's) and runs the first command there, checking it exits as the README
says (1: the bundled samples hold illegal runs on purpose) and prints the summary.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def commands() -> list[str]:
    """The ``$ `` lines of the README's "The two commands" section, comments stripped."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## The two commands", 1)[1].split("\n## ", 1)[0]
    found = [re.sub(r"\s+#.*$", "", line[2:]).strip() for line in section.splitlines() if line.startswith("$ ")]
    if len(found) != 2:
        raise SystemExit(f"README: expected two commands in 'The two commands', found {len(found)}")
    return found


def run_main() -> int:
    """Run the main-job command in a fresh clone, as a newcomer would; 0 if it did what the README says."""
    main = commands()[0]
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    venv_bin = os.environ.get("VIRTUAL_ENV")
    if venv_bin:
        env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if not p.startswith(venv_bin))
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "runfsm"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        print(f"$ {main}", flush=True)
        done = subprocess.run(["bash", "-c", main], cwd=clone, env=env, capture_output=True, text=True, check=False)
    print(done.stdout[-3000:], end="")
    if done.returncode != 1 or "illegal" not in done.stdout:
        print(done.stderr[-3000:], file=sys.stderr)
        print(f"README main command: expected exit 1 with a summary, got {done.returncode}", file=sys.stderr)
        return 1
    print("README main command: ok (exit 1, as documented: the samples hold illegal runs)")
    return 0


def main() -> int:
    """Print the two commands, or run one (``--run main``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", choices=["main"], help="run the main-job command in a fresh clone")
    args = parser.parse_args()
    if args.run == "main":
        return run_main()
    for command in commands():
        print(command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
