"""mfa_app's background tasks, on Django's task framework.

Django 6 has the framework built in (``django.tasks``); on Django 5.2 the ``django-tasks``
package provides the same API. Which backend and queue run them: ``MFA_WEBHOOK_TASK_BACKEND``
and ``MFA_WEBHOOK_TASK_QUEUE``.
"""

try:
    from django.tasks import task, task_backends
except ImportError:  # Django 5.2
    from django_tasks import task, task_backends  # type: ignore[no-redef]

from .conf import app_settings

__all__ = ["deliver_webhook", "task_backends"]


@task(backend=app_settings.WEBHOOK_TASK_BACKEND, queue_name=app_settings.WEBHOOK_TASK_QUEUE)
def deliver_webhook(delivery_id: str) -> str:
    """Make one attempt of a webhook delivery if it is due; return the delivery's status."""
    from .webhooks.delivery import attempt

    return attempt(delivery_id)
