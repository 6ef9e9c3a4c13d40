"""The shared cache of the benchmarked mfa site: a throwaway redis-server, as in production.

mfa_app keeps the session epochs, the configured policy and whether any webhook is active in a
cache that every server process shares (README: "The shared cache"). The bench starts its own
redis-server on a Unix socket in the run's data directory when one is installed (and the
``redis`` package is, ``pip install -e .[bench]``), and hands its address to the sites as
``BENCH_REDIS_URL`` (``bench/settings.py``). Without one the sites use a file cache: it stands
in without a server, but each write lists the cache directory, so an answer that writes to it
pays for that (bench/README.md).
"""

import contextlib
import importlib.util
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

ENV = "BENCH_REDIS_URL"


@contextlib.contextmanager
def throwaway_redis(directory: Path) -> Iterator[str]:
    """Start redis-server for the ``with`` block and set ``BENCH_REDIS_URL``; say which cache."""
    server = shutil.which("redis-server")
    if server is None or importlib.util.find_spec("redis") is None:
        yield "a file cache (no redis-server or no redis package: see bench/shared_cache.py)"
        return
    socket = directory / "redis.sock"
    process = subprocess.Popen(  # noqa: S603 (the installed redis-server, fixed arguments)
        [server, "--port", "0", "--unixsocket", str(socket), "--save", "", "--appendonly", "no"],
        cwd=directory,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"unix://{socket}"
        _wait_until_it_answers(url, process)
        words = subprocess.run(  # noqa: S603
            [server, "--version"], capture_output=True, text=True, check=False
        ).stdout.split()
        version = words[2].removeprefix("v=") if len(words) > 2 else "?"
        os.environ[ENV] = url
        yield f"redis-server {version} on a Unix socket (throwaway)"
    finally:
        os.environ.pop(ENV, None)
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_it_answers(url: str, process: subprocess.Popen) -> None:
    import redis

    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis.from_url(url).ping()
            return
        except redis.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("redis-server did not start") from None
            time.sleep(0.02)
