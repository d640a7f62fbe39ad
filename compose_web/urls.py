from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path

from training.api import api


def _api_urls():
    """The API's URLs: a token, not a login session, decides who may use them."""
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        pattern.callback = login_not_required(pattern.callback)
    return patterns, app_name, namespace


urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", _api_urls()),
    path("accounts/", include("django.contrib.auth.urls")),
    path("datasets/", include("datasets_app.urls")),
    path("", include("training.urls")),
]
