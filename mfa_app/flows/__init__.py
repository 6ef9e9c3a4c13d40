"""What a request does in each MFA flow, for the pages and the JSON API alike.

One module per flow: ``challenge`` (a sign-in's challenge, and answering any challenge),
``step_up`` (a signed-in user proving it again: step-up and re-authentication),
``enrollment`` (adding a factor, or the enrollment a sign-in must do) and ``manage`` (the
user's own factors and recovery codes). Each verb takes the request and validated input and
returns a result or raises an ``MFAError``; views render the result, the API serialises it.
"""
