"""The ``compose`` console script: the core's command line (:mod:`compose.cli`) with each
job run in its own ``python -m runner`` process (:class:`runner.launch.SubprocessExecutor`).

It lives here, above both, because the core never imports the runner: the executor is
handed to :func:`compose.cli.main` instead.
"""

from __future__ import annotations

import sys

from compose import cli
from runner import launch


def main(argv: list[str] | None = None) -> int:
    return cli.main(argv, executor_factory=launch.SubprocessExecutor)


if __name__ == "__main__":
    sys.exit(main())
