"""How a destination is shown to the user: enough to recognise it, not enough to learn it."""


def mask_phone(number: str) -> str:
    """``+14155552671`` → ``***-***-2671``: only the last four digits."""
    digits = "".join(ch for ch in number if ch.isdigit())
    return f"***-***-{digits[-4:]}" if len(digits) > 4 else "***"


def mask_email(address: str) -> str:
    """``jane@example.com`` → ``j***@example.com``: the first letter and the domain."""
    local, at, domain = address.rpartition("@")
    if not at or not local:
        return "***"
    return f"{local[0]}***@{domain}"


def mask_destination(destination: str) -> str:
    """Mask an email address or a phone number, whichever ``destination`` is."""
    return mask_email(destination) if "@" in destination else mask_phone(destination)
