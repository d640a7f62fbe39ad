"""The ``/api/v1/`` NinjaAPI: token auth, and one error body for every refusal.

Every error answers ``{"errors": [{"path", "message", "line", "column"}]}``: a bad field
of a request names it in ``path``; a compose file's problems carry their line and column.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer
from ninja.throttling import SimpleRateThrottle

from compose.errors import Problem
from training.actions.errors import InvalidTransition, RunRefused

# Wrong tokens from one address in a minute before that address is answered 429: a token
# has 256 random bits, so this only keeps a scanner from hammering the token table.
BAD_TOKEN_LIMIT = 30
BAD_TOKEN_WINDOW_S = 60


class ErrorItem(Schema):
    path: str = ""
    message: str
    line: int | None = None
    column: int | None = None


class ErrorBody(Schema):
    errors: list[ErrorItem]


class TooManyBadTokens(Exception):
    pass


def _client_ip(request: HttpRequest) -> str:
    from compose_web.login_throttle import client_ip

    return client_ip(request) or "unknown"


class TokenAuth(HttpBearer):
    """``Authorization: Bearer cwt_...``: the request acts as the token's user."""

    openapi_description = "An API token from the Tokens page (Settings), sent as a Bearer token."

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        from training.actions.tokens import authenticate_token

        key = f"api-bad-token:{_client_ip(request)}"
        if (cache.get(key) or 0) >= BAD_TOKEN_LIMIT:
            raise TooManyBadTokens()
        found = authenticate_token(token)
        if found is None:
            try:
                cache.incr(key)
            except ValueError:
                cache.set(key, 1, BAD_TOKEN_WINDOW_S)
            return None
        request.user = found.user
        return found


class RunCreateThrottle(SimpleRateThrottle):
    """Run creation per token (``COMPOSE_API_RUN_RATE``, e.g. ``30/m``)."""

    scope = "api-runs"

    def __init__(self) -> None:
        super().__init__(self.get_rate())

    def get_rate(self) -> str:
        from django.conf import settings

        return settings.COMPOSE_API_RUN_RATE

    def allow_request(self, request: HttpRequest) -> bool:
        # The setting is read on each request, so a changed rate applies without a restart.
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request)

    def get_cache_key(self, request: HttpRequest) -> str | None:
        token = getattr(request, "auth", None)
        ident = f"token-{token.pk}" if token is not None else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


api = NinjaAPI(
    title="compose-web API",
    version="1",
    description=(
        "Workspaces, compose documents, runs, their events, metrics and artifacts. "
        "Send an API token as `Authorization: Bearer <token>`; make one on the "
        'Tokens page. Errors answer `{"errors": [{"path", "message", "line", "column"}]}`.'
    ),
    auth=TokenAuth(),
    urls_namespace="api-v1",
    docs_url="/docs",
)


def error_response(
    request: HttpRequest, status: int, items: Iterable[dict[str, Any]], headers: dict[str, str] | None = None
) -> HttpResponse:
    errors = [
        {"path": i.get("path") or "", "message": i.get("message", ""), "line": i.get("line"), "column": i.get("column")}
        for i in items
    ]
    response = api.create_response(request, {"errors": errors}, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def problem_items(problems: Iterable[Problem]) -> list[dict[str, Any]]:
    return [{"path": p.path, "message": p.message, "line": p.line, "column": p.column} for p in problems]


def refuse(status: int, message: str, path: str = "") -> HttpError:
    """An HttpError the handler below turns into the error body."""
    return HttpError(status, message) if not path else _FieldError(status, message, path)


class _FieldError(HttpError):
    def __init__(self, status: int, message: str, path: str):
        super().__init__(status, message)
        self.path = path


class ProblemsError(Exception):
    """A compose file with errors: answered 400 with every problem, each with its line."""

    def __init__(self, problems: Iterable[Problem], status: int = 400):
        self.problems = list(problems)
        self.status = status


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    # Something in another workspace is answered exactly like something that does not exist.
    return error_response(request, 404, [{"message": str(exc) or "Not found"}])


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(
        request,
        401,
        [{"message": "send a valid API token: Authorization: Bearer <token>"}],
        {"WWW-Authenticate": "Bearer"},
    )


@api.exception_handler(TooManyBadTokens)
def _too_many_bad(request: HttpRequest, exc: TooManyBadTokens) -> HttpResponse:
    return error_response(
        request,
        429,
        [{"message": "too many wrong tokens from this address; wait a minute"}],
        {"Retry-After": str(BAD_TOKEN_WINDOW_S)},
    )


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    items = []
    for error in exc.errors:
        loc = [str(part) for part in error.get("loc", ())]
        if loc and loc[0] in ("body", "query", "path", "form"):
            loc = loc[1:]
        if loc and loc[0] in ("payload", "filters"):
            loc = loc[1:]
        items.append({"path": ".".join(loc), "message": error.get("msg", "invalid")})
    return error_response(request, 422, items)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    headers = {}
    if exc.status_code == 429:
        headers["Retry-After"] = "60"
    return error_response(request, exc.status_code, [{"path": getattr(exc, "path", ""), "message": str(exc)}], headers)


@api.exception_handler(ProblemsError)
def _problems(request: HttpRequest, exc: ProblemsError) -> HttpResponse:
    return error_response(request, exc.status, problem_items(exc.problems))


@api.exception_handler(RunRefused)
def _run_refused(request: HttpRequest, exc: RunRefused) -> HttpResponse:
    return error_response(request, 400, problem_items(exc.problems))


@api.exception_handler(InvalidTransition)
def _invalid_transition(request: HttpRequest, exc: InvalidTransition) -> HttpResponse:
    return error_response(request, 409, [{"path": "status", "message": str(exc)}])
