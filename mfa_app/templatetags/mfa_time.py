"""``{% mfa_when moment %}``: a date as people read it, the exact moment in a ``<time>``."""

from datetime import datetime, timedelta

from django import template
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timesince import timesince, timeuntil
from django.utils.translation import gettext

from .. import clock

register = template.Library()

# Within this of now a moment reads better relative ("2 days ago"); further, as a date.
RELATIVE_WITHIN = timedelta(days=30)


@register.simple_tag
def mfa_when(moment: datetime | None, empty: str = "") -> SafeString | str:
    """``2 days ago`` / ``in 29 days`` near now, the active locale's date further away; the
    exact date and time in the ``<time>``'s title, ISO 8601 in its ``datetime``."""
    if moment is None:
        return empty
    local = timezone.localtime(moment)
    now = clock.now()
    if abs(moment - now) >= RELATIVE_WITHIN:
        text = formats.date_format(local, "DATE_FORMAT")
    elif abs(moment - now) < timedelta(minutes=1):
        text = gettext("just now")
    elif moment < now:
        text = gettext("%(time)s ago") % {"time": timesince(moment, now, depth=1)}
    else:
        text = gettext("in %(time)s") % {"time": timeuntil(moment, now, depth=1)}
    exact = formats.date_format(local, "DATETIME_FORMAT")
    return format_html('<time datetime="{}" title="{}">{}</time>', local.isoformat(), exact, text)
