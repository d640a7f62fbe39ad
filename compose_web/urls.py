from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.urls import include, path

from training.api import api


def _api_urls():
    """The API's URLs: a token, not a login session, decides who may use them."""
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        if (view := pattern.callback) is not None:
            pattern.callback = login_not_required(view)
    return patterns, app_name, namespace


@login_not_required
def _api_not_found(request, rest: str = ""):
    """An unknown API path answers in the API's error body, not with an HTML page."""
    return JsonResponse(
        {"errors": [{"path": "", "message": f"no API endpoint /api/v1/{rest}", "line": None, "column": None}]},
        status=404,
    )


urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", _api_urls()),
    path("api/v1/<path:rest>", _api_not_found),
    path("accounts/", include("django.contrib.auth.urls")),
    path("datasets/", include("training.dataset_urls")),
    path("", include("training.urls")),
]
