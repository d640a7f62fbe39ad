from importlib.util import find_spec

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
]
# The page URLs live in the apps; mounted once their modules exist.
if find_spec("datasets_app.urls") is not None:
    urlpatterns.append(path("datasets/", include("datasets_app.urls")))
if find_spec("training.urls") is not None:
    urlpatterns.append(path("", include("training.urls")))
