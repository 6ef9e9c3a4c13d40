import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from mfa_app.models import ApplicationPolicy

from .factories import PASSWORD, TOTPFactorFactory, UserFactory


@pytest.fixture(autouse=True)
def _fresh_policy(db):
    """Every test starts from the application policy's defaults."""
    return ApplicationPolicy.load()


@pytest.fixture
def app_policy(_fresh_policy):
    return _fresh_policy


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def totp_user(db):
    return TOTPFactorFactory().user


@pytest.fixture
def csrf_client():
    return Client(enforce_csrf_checks=True)


def login_form(user) -> dict:
    return {"username": getattr(user, get_user_model().USERNAME_FIELD), "password": PASSWORD}


def password_login(client: Client, user, next_url: str | None = None):
    """Pass the password step as a person would, at the example site's login page."""
    url = reverse("login")
    data = login_form(user)
    if next_url is not None:
        data["next"] = next_url
    return client.post(url, data)


def is_logged_in(client: Client) -> bool:
    return client.get(reverse("api_me"), HTTP_ACCEPT="application/json").status_code == 200
