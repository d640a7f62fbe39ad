from django.urls import path

from datasets_app import views

app_name = "datasets_app"

urlpatterns = [
    path("", views.dataset_list, name="list"),
    path("<str:fingerprint>/", views.dataset_detail, name="detail"),
]
