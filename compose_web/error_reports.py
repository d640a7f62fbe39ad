"""What an error page (DEBUG) or an error mail may show: no credentials.

Django's own filter hides settings named like KEY, SECRET, TOKEN or PASS, but shows
DATABASE_URL, REDIS_URL and every setting built from them (a Redis URL sits inside
HUEY and CHANNEL_LAYERS), and it only hides passwords posted to a view while DEBUG is
off. The debug page is on by default in development, and development databases have
real passwords too.
"""

from __future__ import annotations

import re
from typing import Any

from django.views.debug import SafeExceptionReporterFilter

# postgres://user:password@host, redis://:password@host
_CREDENTIALS_IN_URL = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s@]*:[^/\s@]*@", re.I)


class CredentialsFilter(SafeExceptionReporterFilter):
    hidden_settings = re.compile(r"API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|URL$|DSN", re.I)

    def is_active(self, request) -> bool:
        return True  # hide posted passwords on the DEBUG page too

    def cleanse_setting(self, key, value) -> Any:
        cleansed = super().cleanse_setting(key, value)
        return self._hide_credentials(cleansed)

    def cleanse_special_types(self, request, value) -> Any:
        return self._hide_credentials(super().cleanse_special_types(request, value))

    def _hide_credentials(self, value: Any) -> Any:
        if isinstance(value, str) and _CREDENTIALS_IN_URL.search(str(value)):  # str(): lazy strings
            return self.cleansed_substitute
        return value
