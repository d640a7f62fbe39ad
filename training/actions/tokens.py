"""Making, using and revoking API tokens (``training.models.tokens``)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from training.models.tokens import TOKEN_PREFIX, ApiToken, token_digest

# last_used is a hint for people, not an audit log: one write a minute per token is enough.
LAST_USED_GRAIN = timedelta(minutes=1)


def create_token(user, name: str) -> tuple[ApiToken, str]:
    """A new token of ``user``; returns the row and the token text, which is never stored."""
    body = secrets.token_urlsafe(32)
    raw = TOKEN_PREFIX + body
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, name=name.strip()[:100] or "token", hint=body[:8], digest=token_digest(raw)
        )
    return token, raw


def revoke_token(token: ApiToken) -> ApiToken:
    """Refuse the token from now on (idempotent: a revoked token keeps its first date)."""
    ApiToken.objects.filter(pk=token.pk, revoked__isnull=True).update(revoked=timezone.now())
    token.refresh_from_db()
    return token


def authenticate_token(raw: str) -> ApiToken | None:
    """The active token whose text is ``raw`` (its user loaded), or None; notes the use."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    token = ApiToken.objects.select_related("user").filter(digest=token_digest(raw), revoked__isnull=True).first()
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used is None or now - token.last_used >= LAST_USED_GRAIN:
        ApiToken.objects.filter(pk=token.pk).update(last_used=now)
        token.last_used = now
    return token
