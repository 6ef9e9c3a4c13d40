"""mfa_app's background tasks, on Django's task framework.

Django 6 has the framework built in (``django.tasks``); on Django 5.2 the ``django-tasks``
package provides the same API. Which backend and queue run webhook deliveries:
``MFA_WEBHOOK_TASK_BACKEND`` and ``MFA_WEBHOOK_TASK_QUEUE``; security emails go through the
default backend (``TASKS["default"]``) and its default queue.

Importing this module fails when the framework is missing or the backend alias is unknown (the
task is checked against its backend as it is defined): callers import it inside a ``try``.
"""

import logging
import uuid
from datetime import datetime

try:
    from django.tasks import task, task_backends
except ImportError:  # Django 5.2
    from django_tasks import task, task_backends  # type: ignore[no-redef]

from . import notifications
from .conf import app_settings
from .webhooks.delivery import attempt

__all__ = [
    "deliver_webhook",
    "enqueue_delivery",
    "enqueue_notification",
    "send_notification",
    "task_backends",
]
logger = logging.getLogger("mfa_app.webhooks")


@task(backend=app_settings.WEBHOOK_TASK_BACKEND, queue_name=app_settings.WEBHOOK_TASK_QUEUE)
def deliver_webhook(delivery_id: str) -> str:
    """Make one attempt of a webhook delivery if it is due; return the delivery's status."""
    attempted = attempt(delivery_id)
    if attempted.retry_at is not None:
        enqueue_delivery(delivery_id, run_after=attempted.retry_at)
    return attempted.status


def enqueue_delivery(delivery_id: uuid.UUID | str, run_after: datetime | None = None) -> bool:
    """Queue an attempt of a delivery (at ``run_after``); log and return False on failure.

    On a backend that cannot defer tasks (the immediate backend), a later attempt is not
    queued: the delivery stays due until ``mfa_webhooks --send-due`` queues it.
    """
    try:
        queued = deliver_webhook.using(
            backend=app_settings.WEBHOOK_TASK_BACKEND,
            queue_name=app_settings.WEBHOOK_TASK_QUEUE,
        )
        if run_after is not None:
            if not queued.get_backend().supports_defer:
                return False
            queued = queued.using(run_after=run_after)
        queued.enqueue(str(delivery_id))
    except Exception:
        # Never the caller's problem (often a request that already committed its change).
        logger.exception("Could not queue webhook delivery %s", delivery_id)
        return False
    return True


@task()
def send_notification(
    event_id: int, kind: str, recipients: list[str], site: dict, language: str | None = None
) -> bool:
    """Send one security email (``notifications.deliver``); whether it was sent.

    Never raises: a failure is logged by ``notifications`` (rarely), and a raised exception
    would only add the task framework's traceback for each email.
    """
    return notifications.deliver(event_id, kind, recipients, site, language)


def enqueue_notification(queued: dict) -> bool:
    """Queue ``send_notification`` with ``notifications.queued_notification``'s arguments."""
    try:
        send_notification.enqueue(**queued)
    except Exception as exc:
        notifications.report_failure(str(queued.get("kind", "")), exc)
        return False
    return True
