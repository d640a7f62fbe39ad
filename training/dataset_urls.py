"""``/datasets/``: the data set pages (:mod:`training.views.datasets`).

The URL names keep the ``datasets_app`` namespace: the pages show that app's model.
"""

from django.urls import path

from training.views import datasets as views

app_name = "datasets_app"

urlpatterns = [
    path("", views.dataset_list, name="list"),
    path("<str:fingerprint>/", views.dataset_detail, name="detail"),
]
