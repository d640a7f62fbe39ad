"""A job of a shared server sees an allow-listed environment, never the server's keys."""

from __future__ import annotations

from compose.jobenv import job_environment

SERVER = {
    "SECRET_KEY": "django-insecure-0123456789",
    "COMPOSE_SECRETS_KEY": "fernet-key-0123456789",
    "DATABASE_URL": "postgres://app:pw@db/app",
    "REDIS_URL": "redis://:pw@cache:6379/0",
    "HF_TOKEN": "hf_server_token",
    "AWS_SECRET_ACCESS_KEY": "aws",
    "COMPOSE_ALLOW_REMOTE_CODE": "1",
    "PATH": "/usr/bin",
    "HOME": "/home/app",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "CUDA_VISIBLE_DEVICES": "1",
    "HF_HOME": "/cache/hf",
    "HF_HUB_OFFLINE": "1",
    "TMPDIR": "/scratch",
    "OMP_NUM_THREADS": "4",
    "MY_PROXY": "http://proxy",
    "TEAM_DATA": "/data",
}


def test_the_servers_keys_and_urls_never_reach_a_job():
    env = job_environment(SERVER)
    for name in (
        "SECRET_KEY",
        "COMPOSE_SECRETS_KEY",
        "DATABASE_URL",
        "REDIS_URL",
        "HF_TOKEN",
        "AWS_SECRET_ACCESS_KEY",
        "COMPOSE_ALLOW_REMOTE_CODE",
        "MY_PROXY",
        "TEAM_DATA",
    ):
        assert name not in env


def test_what_running_a_job_needs_passes():
    env = job_environment(SERVER)
    assert env == {
        name: SERVER[name]
        for name in (
            "PATH",
            "HOME",
            "LANG",
            "LC_ALL",
            "CUDA_VISIBLE_DEVICES",
            "HF_HOME",
            "HF_HUB_OFFLINE",
            "TMPDIR",
            "OMP_NUM_THREADS",
        )
    }


def test_the_operator_adds_names_and_patterns():
    env = job_environment(SERVER, ["MY_PROXY", "TEAM_*", " "])
    assert env["MY_PROXY"] == "http://proxy" and env["TEAM_DATA"] == "/data"
    assert "SECRET_KEY" not in env
