"""Races of token clients on a real PostgreSQL server: one challenge token and one right code
sent many times at once yield one set of tokens (tests/test_races_postgres.py's harness)."""

import pytest
from django.test import Client

from mfa_app.models import Challenge

from .factories import TOTPFactorFactory, code_for
from .test_drf_tokens import VERIFY_URL, challenge_token_of
from .test_races_postgres import race, unexpected

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.urls("tests.drf_urls"),
]


@pytest.mark.parametrize("workers", [2, 10])
def test_one_challenge_token_yields_tokens_once_under_concurrent_verification(workers):
    device = TOTPFactorFactory()
    token = challenge_token_of(device.user)
    body = {"challenge_token": token, "factor": "TOTP", "code": code_for(device)}

    def answer():
        response = Client().post(VERIFY_URL, body, content_type="application/json")
        return response.json() if response.status_code == 200 else response.status_code

    outcomes = race(workers, answer)

    assert unexpected(outcomes) == []
    won = [r for r in outcomes.results if isinstance(r, dict)]
    assert len(won) == 1
    assert "access" in won[0]
    # The others lost the race (409), or met the user's lockout, which counts every answer in
    # flight as wrong until it proves right (429): none got a token.
    assert {r for r in outcomes.results if not isinstance(r, dict)} <= {409, 429}
    assert Challenge.objects.get(user=device.user).verified_at is not None
