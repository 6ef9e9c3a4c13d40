"""Benchmarks for mfa_app against a bare Django site: see bench/README.md."""
