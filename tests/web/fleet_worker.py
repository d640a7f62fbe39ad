"""``manage.py run_huey`` whose job processes are tests/web/fleet_job.py instead of the runner.

The worker's own path (claim, placement, environment, supervision) is the real one; only
the program each job starts is replaced, since the test machine has no GPU to train on.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

JOB = Path(__file__).with_name("fleet_job.py")


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "compose_web.settings")
    import django

    django.setup()
    import runner.launch as launch

    def fake_command(spec, spec_path=launch.SPEC_PLACEHOLDER, python=sys.executable, remove_spec=False):
        return [python, str(JOB), str(spec_path)]

    launch.runner_command = fake_command
    from django.core.management import call_command

    call_command("run_huey", *argv)


if __name__ == "__main__":
    main(sys.argv[1:])
