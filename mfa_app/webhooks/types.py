"""The event types a webhook carries: one stable name for each kind of audit event."""

from ..models import MFAEvent

Kind = MFAEvent.Kind

# Public names: receivers switch on them, so a name never changes once released.
EVENT_TYPES: dict[str, str] = {
    Kind.ENROLLED: "mfa.factor_enrolled",
    Kind.FACTOR_REMOVED: "mfa.factor_removed",
    Kind.CHALLENGED: "mfa.challenge_started",
    Kind.CODE_SENT: "mfa.code_sent",
    Kind.VERIFIED: "mfa.challenge_passed",
    Kind.FAILED: "mfa.challenge_failed",
    Kind.LOCKED_OUT: "mfa.locked_out",
    Kind.UNLOCKED: "mfa.unlocked",
    Kind.RECOVERY_CODE_USED: "mfa.recovery_code_used",
    Kind.RECOVERY_CODES_GENERATED: "mfa.recovery_codes_generated",
    Kind.RESET: "mfa.reset",
    Kind.DECISION: "mfa.login_decided",
    Kind.DEVICE_REMEMBERED: "mfa.device_remembered",
    Kind.DEVICE_REVOKED: "mfa.device_revoked",
    Kind.ENROLLMENT_POSTPONED: "mfa.enrollment_postponed",
    Kind.BYPASS_GRANTED: "mfa.bypass_granted",
    Kind.BYPASS_ENDED: "mfa.bypass_ended",
    Kind.SESSIONS_ENDED: "mfa.sessions_ended",
    Kind.NEW_DEVICE_SIGN_IN: "mfa.new_device_sign_in",
    Kind.POLICY_CHANGED: "mfa.policy_changed",
    Kind.IMPORTED: "mfa.factor_imported",
}
# Sent only by the admin's "Send a test event", whatever the endpoint subscribed to.
TEST_EVENT_TYPE = "mfa.ping"


def event_type_choices() -> list[tuple[str, str]]:
    """(type, label) for each event type, in the order of the audit log's kinds."""
    return [(EVENT_TYPES[kind], f"{EVENT_TYPES[kind]}: {kind.label}") for kind in Kind]
