"""The one clock mfa_app reads: every expiry, lockout and session timestamp comes from here.

Tests move it with time-machine; a site that needs another notion of "now" patches ``now``.
"""

from datetime import datetime

from django.utils import timezone


def now() -> datetime:
    """The current time, timezone-aware."""
    return timezone.now()


def timestamp() -> float:
    """The current time as a POSIX timestamp, as session records keep it."""
    return now().timestamp()
