"""``app_settings`` keeps what it read, and a changed setting is read again."""

import pytest
from django.test import override_settings

from mfa_app.conf import DEFAULTS, app_settings


def max_attempts() -> int:
    return app_settings.MAX_ATTEMPTS


def test_a_setting_changed_after_it_was_read_applies_at_once(settings):
    default = DEFAULTS["MAX_ATTEMPTS"]
    assert max_attempts() == default
    with override_settings(MFA_MAX_ATTEMPTS=3):
        assert max_attempts() == 3
    assert max_attempts() == default
    settings.MFA_MAX_ATTEMPTS = 7
    assert max_attempts() == 7


def test_an_unknown_name_is_not_a_setting():
    with pytest.raises(AttributeError):
        app_settings.NOT_A_SETTING  # noqa: B018
