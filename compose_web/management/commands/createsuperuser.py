"""``createsuperuser`` that checks DJANGO_SUPERUSER_PASSWORD too.

Django's checks the password it prompts for but takes the one from the environment
(``--noinput``) as it is, so a scripted install could create an admin with "12345678".
"""

from __future__ import annotations

import os

from django.contrib.auth import get_user_model
from django.contrib.auth.management.commands import createsuperuser
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError


class Command(createsuperuser.Command):
    def handle(self, *args, **options) -> None:
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD")
        if not options["interactive"] and password:
            user_model = get_user_model()  # what self.UserModel is, typed as the concrete model
            field = user_model.USERNAME_FIELD
            username = options.get(field) or os.environ.get(f"DJANGO_SUPERUSER_{field.upper()}", "")
            email = options.get("email") or os.environ.get("DJANGO_SUPERUSER_EMAIL", "")
            try:
                validate_password(password, user_model(**{field: username, "email": email}))
            except ValidationError as error:
                raise CommandError("DJANGO_SUPERUSER_PASSWORD is refused: " + " ".join(error.messages)) from None
        super().handle(*args, **options)
