"""From audit events to queued security emails (``notifications`` says what they are).

Each email is worked out while the request is at hand (which addresses, the site's host) and
queued as ``tasks.send_notification`` once the transaction commits, on the default task
backend: with a real queue the mail server is off the request's path; with the immediate
backend it is sent at the commit. Kept apart from ``notifications`` because the task imports
that module: here is the one place that imports both.
"""

import logging
from functools import partial
from typing import Any

from django.db import transaction

from . import signals
from .models import MFAEvent
from .notifications import KINDS, deliver, queued_notification, report_failure

logger = logging.getLogger("mfa_app.notifications")


def _event_recorded(
    sender: Any, event: MFAEvent, user: Any, request: Any = None, **kwargs: Any
) -> None:
    try:
        # A savepoint: a database error here must not spoil the transaction of the MFA action.
        with transaction.atomic():
            queued = queued_notification(event, user, request)
    except Exception as exc:
        report_failure(KINDS.get(event.kind, event.kind), exc)
        return
    if queued is not None:
        transaction.on_commit(partial(enqueue, queued))


for _signal in (
    signals.factor_enrolled,
    signals.factor_removed,
    signals.recovery_code_used,
    signals.mfa_reset,
    signals.device_remembered,
    signals.challenge_failed,
    signals.new_device_signed_in,
    signals.bypass_granted,
    signals.factor_imported,
):
    _signal.connect(_event_recorded, sender=MFAEvent, dispatch_uid="mfa_app.notifications")


def enqueue(queued: dict) -> None:
    """Queue the email; without a usable task framework, send it now rather than lose it."""
    try:
        # Imported here: a missing framework or an unknown webhook backend fails the import
        # (checks E022 reports it), which must neither stop mfa_app loading nor lose the email.
        from .tasks import enqueue_notification
    except Exception:
        deliver(**queued)
        return
    if not enqueue_notification(queued):
        deliver(**queued)
