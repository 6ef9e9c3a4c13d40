"""Multi-factor authentication for Django sites."""
