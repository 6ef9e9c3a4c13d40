from django.urls import include, path

from bench.peers import views

urlpatterns = [
    path("", views.home, name="home"),
    path("private/", views.private, name="private"),
    path("accounts/", include("allauth.urls")),
]
