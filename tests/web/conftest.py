"""Shared fixtures of the web tests: a real database, named users, a workspace.

alice owns the "Lab" workspace; bob is a member of nothing until a test adds him.
"""

from __future__ import annotations

import copy
import os
import tempfile
import uuid
from pathlib import Path

import pytest
from django.conf import settings


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix) -> None:
    """A private test database per test process.

    SQLite gets a file (not memory) so worker threads and the web side use real WAL
    locking, as in production; PostgreSQL gets a per-process name so several test
    runs on one server do not drop each other's database.
    """
    db = settings.DATABASES["default"]
    # Threads (worker, websocket) must not keep connections open past the test, or the
    # test database cannot be dropped.
    db["CONN_MAX_AGE"] = 0
    test = db.setdefault("TEST", {})
    if db["ENGINE"].endswith("sqlite3"):
        folder = Path(tempfile.mkdtemp(prefix="compose-web-test-"))
        test["NAME"] = str(folder / "test.sqlite3")
    else:
        test["NAME"] = f"test_{db['NAME']}_{os.getpid()}"


@pytest.fixture(autouse=True)
def _huey_immediate():
    """Tasks run in the caller's thread with in-memory storage: tests never touch the
    developer's queue file or a shared Redis queue."""
    from huey.contrib.djhuey import HUEY

    before = HUEY.immediate
    HUEY.immediate = True
    yield HUEY
    HUEY.immediate = before


@pytest.fixture(autouse=True)
def _own_cache(settings):
    """Each test counts in a cache of its own: on Redis, the two test processes (and tests
    one after another) would otherwise share the API's counts of wrong tokens and runs."""
    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["KEY_PREFIX"] = f"test-{uuid.uuid4().hex}"
    settings.CACHES = caches
    return caches["default"]["KEY_PREFIX"]


@pytest.fixture(autouse=True)
def _storage(tmp_path, settings):
    settings.COMPOSE_STORAGE_DIR = tmp_path / "storage"
    settings.COMPOSE_WORKSPACES_DIR = tmp_path / "workspaces"
    settings.COMPOSE_HEARTBEAT_S = 0.2
    settings.COMPOSE_EVENT_POLL_S = 0.2
    # A test that interrupts a run checks that state; the retry tests raise it again.
    settings.COMPOSE_MAX_ATTEMPTS = 1
    # The real hasher costs ~0.3 s per login or user; tests do not need its strength.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return tmp_path


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", "alice@example.org", "alice-password")


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob", "bob@example.org", "bob-password")


@pytest.fixture
def workspace(alice):
    from training.models import Membership, Workspace

    ws = Workspace.objects.create(name="Lab", slug="lab")
    Membership.objects.create(user=alice, workspace=ws, role=Membership.Role.OWNER)
    return ws


@pytest.fixture
def staff(client, django_user_model):
    """A logged-in superuser, for the admin pages."""
    admin = django_user_model.objects.create_superuser("root", "root@example.org", "pw")
    client.force_login(admin)
    return admin
