"""The DEBUG error page shows no credentials: not the database or Redis URL, not a password."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path
from django.views.decorators.debug import sensitive_post_parameters

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

DATABASE_URL = "postgres://compose:db-hunter2@db.internal:5432/compose"
REDIS_URL = "redis://:redis-hunter2@cache.internal:6379/0"
SECRETS = ("db-hunter2", "redis-hunter2", "posted-hunter2", "local-hunter2")


@pytest.fixture
def debug_page(settings, alice):
    settings.DEBUG = True
    settings.DATABASE_URL = DATABASE_URL
    settings.REDIS_URL = REDIS_URL
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [{"address": REDIS_URL}]}}
    }
    settings.HUEY = {"connection": {"url": REDIS_URL}}
    settings.BACKUP_URL = "s3://backup:local-hunter2@bucket/db"
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    # runserver's WSGI environ carries the process environment into request.META
    response = client.post(
        "/broken/", {"password": "posted-hunter2"}, DATABASE_URL=DATABASE_URL, HTTP_ACCEPT="text/html"
    )
    assert response.status_code == 500
    return response.content.decode()


def test_the_debug_page_hides_every_credential(debug_page):
    assert "something broke" in debug_page  # it is the debug page
    for secret in SECRETS:
        assert secret not in debug_page


def test_the_debug_page_still_names_the_hidden_settings(debug_page):
    assert "DATABASE_URL" in debug_page and "REDIS_URL" in debug_page and "********************" in debug_page
    assert "cache.internal" not in debug_page


# The page shows the source lines around the failing one: no secret may be written there.
@sensitive_post_parameters("password")
def broken(request: HttpRequest) -> HttpResponse:
    backup = django_settings.BACKUP_URL  # a local the traceback shows
    if backup and request.POST.get("password"):
        raise RuntimeError("something broke")
    return HttpResponse()


urlpatterns = [path("broken/", broken)]
