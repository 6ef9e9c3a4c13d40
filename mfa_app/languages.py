"""The language a user's messages are written in: security emails, codes by email and SMS.

``MFA_USER_LANGUAGE`` (a callable or its dotted path, ``(user, request) -> code or None``)
decides; without it, or when it returns nothing, the language active when the event happens,
which during a request is the request's (``LocaleMiddleware``), when that request is the
user's own. It is taken at that moment and
stored with a queued email, so a task that sends it later, in another process or language,
still writes it in the user's.
"""

from typing import Any

from django.conf import settings
from django.core.checks import Error, register
from django.utils import translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext

from .conf import app_settings


def _hook() -> Any:
    hook = app_settings.USER_LANGUAGE
    return import_string(hook) if isinstance(hook, str) else hook


def language_for(user: Any, request: Any = None, *, from_request: bool = True) -> str:
    """The supported language (one of ``LANGUAGES``) to write to ``user`` in, now.

    ``from_request=False``: the request is not the user's own (a staff member's, or a sign-in
    that only got past the password), so without an answer from ``MFA_USER_LANGUAGE`` it is the
    site's ``LANGUAGE_CODE``, not a language someone else chose.
    """
    hook = _hook()
    chosen = hook(user, request) if hook else None
    if not chosen and from_request:
        chosen = translation.get_language()
    # A profile may hold a language the site no longer offers: the site's own, then.
    for language in (chosen, settings.LANGUAGE_CODE):
        try:
            return translation.get_supported_language_variant(language or "")
        except LookupError:
            continue
    return settings.LANGUAGE_CODE


@register()
def check_user_language(app_configs: Any = None, **kwargs: Any) -> list:
    """E031: ``MFA_USER_LANGUAGE`` is neither ``None`` nor a callable (or its dotted path)."""
    try:
        hook = _hook()
    except ImportError as exc:
        problem = gettext("MFA_USER_LANGUAGE cannot be imported (%(error)s).") % {"error": exc}
    else:
        if hook is None or callable(hook):
            return []
        problem = gettext("MFA_USER_LANGUAGE is not callable.")
    return [
        Error(
            problem,
            hint=gettext(
                "Set it to a callable (user, request) -> language code or None, or its "
                "dotted path, or None for the language of the request."
            ),
            id="mfa_app.E031",
        )
    ]
