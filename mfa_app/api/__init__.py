"""The JSON API: the same flows as the pages (``mfa_app.services``), for sites' own front ends.

Reference: docs/api.md; the OpenAPI document is served at ``api/openapi.json``.
"""
