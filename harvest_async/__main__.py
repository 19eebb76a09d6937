"""``python -m harvest_async``: the ``harvest-async`` command line."""

import sys

from .cli import main

sys.exit(main())
