"""``python manage.py compose ...``: the ``compose`` command line, inside the Django project.

Everything after ``compose`` goes to :func:`runner.cli.main`, the ``compose`` command, untouched, so
``manage.py compose run file.yaml --input template=...`` behaves like ``compose run``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from runner.cli import main


class Command(BaseCommand):
    help = "Validate, export, list the inputs of, and run compose files (see `compose --help`)."

    def run_from_argv(self, argv: list[str]) -> None:
        # Django's own option parsing would swallow flags such as -e and -i.
        sys.exit(main(argv[2:]))

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("compose_args", nargs=argparse.REMAINDER)

    def handle(self, *args: Any, **options: Any) -> None:
        argv = list(options.get("compose_args") or args)
        code = main(argv)
        if code != 0:
            raise CommandError(f"compose {' '.join(argv[:1])} exited with {code}", returncode=code)
