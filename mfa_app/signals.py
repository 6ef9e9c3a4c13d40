"""Signals that report what happened; each is sent after the audit row is written.

Every signal is sent with ``sender=MFAEvent`` and the keyword arguments
``event`` (the :class:`~mfa_app.models.MFAEvent`), ``user`` and ``request``
(``None`` outside a request). ``policy_changed`` has no subject user: its ``user`` is ``None``
(the staff member who changed it is the event's ``actor``).
"""

from django.dispatch import Signal

factor_enrolled = Signal()
challenge_started = Signal()
code_sent = Signal()
challenge_passed = Signal()
challenge_failed = Signal()
locked_out = Signal()
recovery_code_used = Signal()
recovery_codes_generated = Signal()
factor_removed = Signal()
mfa_reset = Signal()
login_decided = Signal()
device_remembered = Signal()
device_revoked = Signal()
enrollment_postponed = Signal()
bypass_granted = Signal()
bypass_ended = Signal()
mfa_unlocked = Signal()
sessions_ended = Signal()
new_device_signed_in = Signal()
policy_changed = Signal()
factor_imported = Signal()
