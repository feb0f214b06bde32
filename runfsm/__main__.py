"""``python -m runfsm``: the command line."""

import sys

from runfsm.cli import main

sys.exit(main())
