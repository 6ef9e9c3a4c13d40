from typing import Any

from .models import Organization


def organization_for(user: Any) -> Organization | None:
    membership = getattr(user, "membership", None) if user.pk else None
    return membership.organization if membership else None
