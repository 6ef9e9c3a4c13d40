"""The peer tests run only under a peer's settings (tests/peers/settings*.py), which list the
peers they install in ``MFA_TEST_PEERS``; the main suite does not collect them. Under those
settings a peer that is not installed fails at start-up: these tests never skip."""

from django.conf import settings


def pytest_ignore_collect(collection_path, config):
    if collection_path.suffix != ".py" or not collection_path.name.startswith("test_"):
        return None
    peer = collection_path.stem.removeprefix("test_")
    return peer not in getattr(settings, "MFA_TEST_PEERS", ())
