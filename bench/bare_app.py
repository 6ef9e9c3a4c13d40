"""Disconnect mfa_app's login gate: a login on the bare site is just a login."""

from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in


class BareSiteConfig(AppConfig):
    name = "bench"
    label = "bench_bare"
    verbose_name = "Bare site (benchmarks)"

    def ready(self) -> None:
        disconnected = user_logged_in.disconnect(dispatch_uid="mfa_app.gate_login")
        if not disconnected:
            raise RuntimeError("mfa_app.gate_login is not connected: update bench/bare_app.py")
