"""The enrollment menu: each factor with its icon, what it does and needs; one recommended."""

import re

import pytest
from django.urls import reverse

from mfa_app.factors import get_factor

ENROLL = reverse("mfa_app:enroll")


def choices(html: str) -> dict[str, str]:
    """Each menu entry's HTML, by its factor type."""
    return dict(re.findall(r'<li class="mfa-choice" data-factor="(\w+)">(.*?)</li>', html, re.S))


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


def test_each_factor_has_its_icon_label_description_and_needs(signed_in, allow_codes):
    html = signed_in.get(ENROLL).content.decode()
    shown = choices(html)
    assert list(shown) == ["TOTP", "WEBAUTHN", "SMS", "EMAIL"]
    for factor_type, entry in shown.items():
        factor = get_factor(factor_type)
        assert entry.count('<svg class="mfa-icon"') == 1
        assert 'aria-hidden="true"' in entry
        assert f">{factor.label}</a>" in entry
        assert str(factor.description).replace("'", "&#x27;") in entry
        assert str(factor.needs) in entry
    # Plain words: no protocol names on the choices.
    assert "(TOTP)" not in html and "(WebAuthn)" not in html and "TOTP<" not in html


def test_the_icons_differ_per_factor(signed_in, allow_codes):
    shown = choices(signed_in.get(ENROLL).content.decode())
    icons = {re.search(r"<svg.*?</svg>", entry, re.S)[0] for entry in shown.values()}
    assert len(icons) == 4


def test_a_passkey_is_recommended_and_an_app_where_the_browser_has_no_webauthn(
    signed_in, allow_codes
):
    shown = choices(signed_in.get(ENROLL).content.decode())
    assert 'data-recommended="webauthn">Recommended' in shown["WEBAUTHN"]
    assert 'data-recommended="no-webauthn" hidden>Recommended' in shown["TOTP"]
    assert "Recommended" not in shown["SMS"] + shown["EMAIL"]


def test_without_webauthn_allowed_the_app_is_recommended_everywhere(signed_in, allow_codes):
    allow_codes.allowed_factors = ["TOTP", "SMS", "EMAIL"]
    allow_codes.save()
    shown = choices(signed_in.get(ENROLL).content.decode())
    assert '<span class="mfa-badge mfa-badge-on">Recommended</span>' in shown["TOTP"]
    assert "data-recommended" not in "".join(shown.values())


def test_codes_alone_are_never_recommended(signed_in, allow_codes):
    allow_codes.allowed_factors = ["SMS", "EMAIL"]
    allow_codes.save()
    html = signed_in.get(ENROLL).content.decode()
    assert set(choices(html)) == {"SMS", "EMAIL"} and "Recommended" not in html


def test_a_signed_in_user_can_go_back_to_the_security_page(signed_in, allow_codes):
    html = signed_in.get(ENROLL).content.decode()
    assert f'href="{reverse("mfa_app:security")}"' in html
