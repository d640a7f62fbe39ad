"""The light install: a fresh virtual environment with ``pip install .`` (no extras) gets
the compose core and the server client, and neither torch, transformers nor Django.

Honest about its one shortcut: pip fetches the base packages from the index pip is
configured with (nothing comes from this checkout's .venv); the project itself is built
from a copy of its sources, so no build folder is left in the clone.
"""

from __future__ import annotations

import shutil
import subprocess
import venv
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("compose", "runner", "compose_web", "training", "datasets_app")


@pytest.fixture(scope="module")
def light_venv(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("light")
    source = base / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
        )
    env_dir = base / "venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(env_dir)
    python = env_dir / "bin" / "python"
    result = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(source)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"pip install . failed:\n{result.stdout}\n{result.stderr}"
    return env_dir


def test_the_light_install_has_no_torch_transformers_or_django(light_venv: Path):
    code = (
        "import importlib.util as u; "
        "print([m for m in ('torch', 'transformers', 'django', 'ninja', 'datasets') if u.find_spec(m)])"
    )
    out = subprocess.run(
        [str(light_venv / "bin" / "python"), "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[]"


def test_compose_validate_and_submit_help_run_in_it(light_venv: Path, tmp_path: Path):
    compose = light_venv / "bin" / "compose"
    examples = sorted(str(p) for p in (ROOT / "examples").glob("*.yaml"))
    validate = subprocess.run(
        [str(compose), "validate", *examples], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert validate.returncode == 0, validate.stdout + validate.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text("components:\n  - id: a\n    type: datasets\n    fraction: lots\n", encoding="utf-8")
    refused = subprocess.run(
        [str(compose), "validate", str(broken)], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert refused.returncode == 1 and f"{broken}:" in refused.stdout + refused.stderr
    submit = subprocess.run(
        [str(compose), "submit", "--help"], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert submit.returncode == 0 and "--workspace" in submit.stdout
    # With no server configured, the client says how to log in instead of failing oddly.
    runs = subprocess.run(
        [str(compose), "runs"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert runs.returncode == 1 and "compose remote login" in runs.stderr
