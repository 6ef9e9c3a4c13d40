"""The peer tests run only under a peer's settings (tests/peers/settings_*.py, ``make
test-peers``), which list the peers they installed in ``MFA_TEST_PEERS``; the main suite does
not collect them. A peer that is not installed is left out with a line at the end of the run,
unless ``MFA_REQUIRE_PEERS=1`` (CI): then the run fails at start-up instead of skipping it."""

from django.conf import settings

_left_out: list[str] = []


def pytest_ignore_collect(collection_path, config):
    if collection_path.suffix != ".py" or not collection_path.name.startswith("test_"):
        return None
    peer = collection_path.stem.removeprefix("test_")
    if peer in getattr(settings, "MFA_TEST_PEERS", ()):
        return None
    if getattr(settings, "SETTINGS_MODULE", "").endswith(f"settings_{peer}"):
        _left_out.append(peer)
    return True


def pytest_terminal_summary(terminalreporter):
    for peer in _left_out:
        terminalreporter.write_line(
            f"tests/peers/test_{peer}.py left out: the peer is not installed "
            "(MFA_REQUIRE_PEERS=1 makes that a failure)"
        )
