"""API tokens: a named secret that acts as its user on ``/api/v1/``.

The token itself is shown once, when it is made; only its SHA-256 digest is stored. A
token carries 256 random bits, so a fast unsalted hash is enough: there is nothing to
brute-force that a slow hash would protect (unlike a password someone chose).
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models

TOKEN_PREFIX = "cwt_"


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


class ApiToken(models.Model):
    """A token of ``user``: it has that user's workspace rights and nothing more.

    ``revoked`` set means refused from then on (the row stays as the record).
    ``last_used`` is updated at most once a minute, so a busy client does not write on
    every request.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    # The first characters after the prefix, shown in lists so a user can tell tokens apart.
    hint = models.CharField(max_length=12)
    digest = models.CharField(max_length=64, unique=True)
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)
    revoked = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.user}, {TOKEN_PREFIX}{self.hint}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked is None
