"""The environment a job of a shared server may see: an allow-list, never the server's own.

A web worker holds the keys of the whole install (``SECRET_KEY``, ``COMPOSE_SECRETS_KEY``,
``DATABASE_URL`` with its password, ``REDIS_URL``). A job reads ``${env.X}`` and, with
``trust_remote_code``, may run code of its own, so it gets only what running a job needs
(paths, locale, temp and cache folders, GPU selection, thread counts, the hub's offline
switches) plus what the operator adds by name, and then the workspace's secrets.
``compose run`` on a user's own machine keeps the whole environment.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping

# Task -> the variable that names the base model of a trainer without ``model:`` (``compose
# run``, and a job given none by its workspace).
DEFAULT_MODEL_ENV: dict[str, str] = {
    "sft": "COMPOSE_DEFAULT_SFT_MODEL",
    "classification": "COMPOSE_DEFAULT_CLASSIFICATION_MODEL",
}

# Exact names, or shell-style patterns (``LC_*``).
JOB_ENV_ALLOW: tuple[str, ...] = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LANGUAGE",
    "LC_*",
    "TZ",
    "TMPDIR",
    "TEMP",
    "TMP",
    "XDG_CACHE_HOME",
    "VIRTUAL_ENV",
    "LD_LIBRARY_PATH",
    "PYTHONHASHSEED",
    "PYTHONPATH",
    # GPUs and the math libraries' threads
    "CUDA_VISIBLE_DEVICES",
    "CUDA_DEVICE_ORDER",
    "NVIDIA_VISIBLE_DEVICES",
    "PYTORCH_CUDA_ALLOC_CONF",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
    "TOKENIZERS_PARALLELISM",
    "TORCH_HOME",
    "TRITON_CACHE_DIR",
    # Hugging Face: where caches are and whether the hub is reachable, never a token
    "HF_HOME",
    "HF_HUB_CACHE",
    "HF_DATASETS_CACHE",
    "HF_ASSETS_CACHE",
    "HF_XET_CACHE",
    "HF_HUB_OFFLINE",
    "HF_DATASETS_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "HF_HUB_DISABLE_TELEMETRY",
    "HF_ENDPOINT",
    # compose-web's own job switches
    "COMPOSE_LIGER_KERNEL",
)


def allowed(name: str, extra: Iterable[str] = ()) -> bool:
    """True when a variable called ``name`` may reach a job (``extra``: the operator's names)."""
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in (*JOB_ENV_ALLOW, *extra))


def job_environment(environ: Mapping[str, str], extra_allowed: Iterable[str] = ()) -> dict[str, str]:
    """The variables of ``environ`` a job may see (``extra_allowed``: names or patterns the
    operator adds, from ``COMPOSE_JOB_ENV_ALLOW``)."""
    extra = tuple(name.strip() for name in extra_allowed if name.strip())
    return {name: value for name, value in environ.items() if allowed(name, extra)}
