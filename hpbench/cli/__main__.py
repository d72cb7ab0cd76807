"""``python -m hpbench.cli``: the ``hpbench`` command."""

import sys

from hpbench.cli import main

sys.exit(main())
