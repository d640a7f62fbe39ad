import functools
import inspect

from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse, JsonResponse
from django.urls import include, path

from training.api import api


def _error_body(message: str, status: int) -> JsonResponse:
    return JsonResponse({"errors": [{"path": "", "message": message, "line": None, "column": None}]}, status=status)


def _allowed_only(request, response: HttpResponse) -> HttpResponse:
    """A method the path does not take answers in the API's error body, naming those it does."""
    if response.status_code != 405 or response.get("Content-Type", "").startswith("application/json"):
        return response
    allowed = response.get("Allow", "")
    answer = _error_body(f"{request.method} is not allowed here; use {allowed or 'another method'}", 405)
    answer["Allow"] = allowed
    return answer


def _in_error_body(view):
    if inspect.iscoroutinefunction(view):

        @functools.wraps(view)
        async def async_wrapped(request, *args, **kwargs):
            return _allowed_only(request, await view(request, *args, **kwargs))

        return async_wrapped

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        return _allowed_only(request, view(request, *args, **kwargs))

    return wrapped


def _api_urls():
    """The API's URLs: a token, not a login session, decides who may use them."""
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        if (view := pattern.callback) is not None:
            pattern.callback = login_not_required(_in_error_body(view))
    return patterns, app_name, namespace


@login_not_required
def _api_not_found(request, rest: str = ""):
    """An unknown API path answers in the API's error body, not with an HTML page."""
    return _error_body(f"no API endpoint /api/v1/{rest}", 404)


urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", _api_urls()),
    path("api/v1/<path:rest>", _api_not_found),
    path("accounts/", include("django.contrib.auth.urls")),
    path("datasets/", include("training.dataset_urls")),
    path("", include("training.urls")),
]
