from django.contrib.auth.views import LogoutView
from django.urls import include, path
from two_factor.urls import urlpatterns as two_factor_urls

from bench.peers import views

urlpatterns = [
    path("", views.home, name="home"),
    path("private/", views.private, name="private"),
    path("account/logout/", LogoutView.as_view(), name="logout"),
    path("", include(two_factor_urls)),
]
