"""``python -m harvest_async`` and the ``harvest-async`` script: the command line.

The command line's modules are imported inside `main`, so that a Ctrl-C while they load
is the same one line and exit code 130 as one during a run.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Load the command line and run it with ``argv`` (default: ``sys.argv[1:]``)."""
    try:
        from .cli import main as cli_main
    except KeyboardInterrupt:
        print("harvest-async: interrupted", file=sys.stderr)
        return 130  # cli.EXIT_INTERRUPTED
    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
