"""The peers mfa_app is measured against: django-two-factor-auth and allauth.mfa as sites."""
