"""The API tokens page: make a named token (shown once), see when each was last used, revoke."""

from __future__ import annotations

import secrets

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from training.actions.tokens import create_token, revoke_token
from training.models.tokens import ApiToken


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What it is for, e.g. “laptop” or “CI”.")


ONCE_KEY = "token_forms"  # the one-time marks of the token forms this session was shown


def _mark_form(request: HttpRequest) -> str:
    """A one-time mark for the form about to be shown (the last few are kept)."""
    mark = secrets.token_urlsafe(16)
    request.session[ONCE_KEY] = [*request.session.get(ONCE_KEY, [])[-4:], mark]
    return mark


def _used_before(request: HttpRequest) -> bool:
    """True when this form was sent already (a reload that resends the POST): its mark is spent."""
    mark = request.POST.get("once")
    if not mark:
        return False
    outstanding = request.session.get(ONCE_KEY, [])
    if mark not in outstanding:
        return True
    request.session[ONCE_KEY] = [m for m in outstanding if m != mark]
    return False


def tokens(request: HttpRequest) -> HttpResponse:
    assert request.user.is_authenticated  # a page behind the login
    new_token = None
    if request.method == "POST":
        form = TokenForm(request.POST)
        if _used_before(request):
            messages.info(
                request,
                "This form was sent before: that token was made then and shown once. Make a new one if you need it.",
            )
            form = TokenForm()
        elif form.is_valid():
            token, new_token = create_token(request.user, form.cleaned_data["name"])
            form = TokenForm()
    else:
        form = TokenForm()
    # The new token is in this response only: no redirect, so it is never stored anywhere;
    # the form's one-time mark keeps a resent POST from making a second token.
    response = render(
        request,
        "training/tokens.html",
        {
            "form": form,
            "new_token": new_token,
            "once": _mark_form(request),
            "tokens": ApiToken.objects.filter(user=request.user),
            "api_base": request.build_absolute_uri("/"),
        },
    )
    if new_token:
        response["Cache-Control"] = "no-store"
    return response


@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    # Only one's own: another user's token is "not found", as in the API.
    revoke_token(get_object_or_404(ApiToken, pk=pk, user=request.user))
    return redirect("training:tokens")
