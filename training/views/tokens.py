"""The API tokens page: make a named token (shown once), see when each was last used, revoke."""
from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from training.actions.tokens import create_token, revoke_token
from training.models.tokens import ApiToken


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What it is for, e.g. “laptop” or “CI”.")


def tokens(request: HttpRequest) -> HttpResponse:
    new_token = None
    if request.method == "POST":
        form = TokenForm(request.POST)
        if form.is_valid():
            token, new_token = create_token(request.user, form.cleaned_data["name"])
            form = TokenForm()
    else:
        form = TokenForm()
    # The new token is in this response only: no redirect, so it is never stored anywhere.
    response = render(request, "training/tokens.html", {
        "form": form, "new_token": new_token,
        "tokens": ApiToken.objects.filter(user=request.user),
        "api_base": request.build_absolute_uri("/"),
    })
    if new_token:
        response["Cache-Control"] = "no-store"
    return response


@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    # Only one's own: another user's token is "not found", as in the API.
    revoke_token(get_object_or_404(ApiToken, pk=pk, user=request.user))
    return redirect("training:tokens")
