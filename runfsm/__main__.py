"""``python -m runfsm``: the command line."""

import sys

from runfsm.commands.main import main

sys.exit(main())
