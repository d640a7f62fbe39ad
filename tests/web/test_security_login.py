"""Wrong passwords are throttled: a user name + address pair is paused after a few failures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def log_in(client: Client, username: str, password: str, url: str | None = None):
    return client.post(url or reverse("login"), {"username": username, "password": password})


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def client_from(address: str) -> Client:
    return Client(REMOTE_ADDR=address)


def test_the_right_password_is_refused_after_too_many_wrong_ones(alice, settings):
    client = client_from("203.0.113.7")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in(client, "alice", "wrong").status_code == 200
    assert log_in(client, "alice", "wrong").status_code == 429  # the last allowed failure
    response = log_in(client, "alice", "alice-password")
    assert response.status_code == 429
    assert not logged_in(client)
    page = response.content.decode()
    assert "Too many failed logins" in page and "paused for 15 minutes" in page
    assert 'name="password"' in page  # the login form is still there for later


def test_the_pause_is_for_that_user_name_from_that_address_only(alice, bob):
    attacker = client_from("203.0.113.7")
    for _ in range(10):
        log_in(attacker, "alice", "wrong")
    assert log_in(attacker, "bob", "bob-password").status_code == 302
    elsewhere = client_from("198.51.100.2")
    assert log_in(elsewhere, "alice", "alice-password").status_code == 302 and logged_in(elsewhere)


def test_the_pause_ends_after_the_cool_off(alice, settings):
    from axes.models import AccessAttempt

    client = client_from("203.0.113.7")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "alice", "wrong")
    assert log_in(client, "alice", "alice-password").status_code == 429
    later = settings.AXES_COOLOFF_TIME + timedelta(seconds=1)
    for attempt in AccessAttempt.objects.all():
        AccessAttempt.objects.filter(pk=attempt.pk).update(attempt_time=attempt.attempt_time - later)
    assert log_in(client, "alice", "alice-password").status_code == 302 and logged_in(client)


def test_a_good_login_clears_earlier_failures(alice, settings):
    client = client_from("203.0.113.7")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, "alice", "wrong")
    assert log_in(client, "alice", "alice-password").status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, "alice", "wrong")
    assert log_in(client, "alice", "alice-password").status_code == 302


def test_the_admin_login_is_throttled_too(django_user_model, settings):
    django_user_model.objects.create_superuser("root", "root@example.org", "root-password-1")
    client = client_from("203.0.113.7")
    url = reverse("admin:login")
    assert log_in(client, "root", "root-password-1", url).status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "root", "wrong", url)
    assert log_in(client, "root", "root-password-1", url).status_code == 429
    assert not logged_in(client)


def test_behind_a_proxy_failures_count_against_the_address_the_proxy_saw(alice, settings):
    settings.COMPOSE_BEHIND_PROXY = True
    proxy = client_from("10.0.0.1")
    for i in range(settings.AXES_FAILURE_LIMIT):
        # The client makes up a new first hop every time; the proxy appends the real one.
        proxy.post(
            reverse("login"),
            {"username": "alice", "password": "wrong"},
            HTTP_X_FORWARDED_FOR=f"192.0.2.{i}, 203.0.113.7",
        )
    refused = proxy.post(
        reverse("login"),
        {"username": "alice", "password": "alice-password"},
        HTTP_X_FORWARDED_FOR="192.0.2.99, 203.0.113.7",
    )
    assert refused.status_code == 429
    other = proxy.post(
        reverse("login"), {"username": "alice", "password": "alice-password"}, HTTP_X_FORWARDED_FOR="198.51.100.2"
    )
    assert other.status_code == 302
