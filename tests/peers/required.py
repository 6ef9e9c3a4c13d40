"""Whether a peer's tests may run here: installed, or required (``MFA_REQUIRE_PEERS=1``, CI).

A settings module adds a peer's apps only if the peer is installed, or if it is required: then
a missing peer fails the run at start-up (its apps cannot be imported), as CI wants. Otherwise
its tests are left out, and conftest says so at the end of the run.
"""

import os
from importlib.util import find_spec

REQUIRED = os.environ.get("MFA_REQUIRE_PEERS") == "1"


def available(module: str) -> bool:
    return REQUIRED or find_spec(module) is not None
