"""Every way into the example site meets MFA, and a pending login opens nothing but MFA pages.

The four ways a user becomes logged in (password login, signup with auto-login, password
reset with ``post_reset_login`` and accepting an invitation) all call ``login()``; mfa_app
demotes the fresh session to a pending login when MFA is needed. These tests walk each path
through HTTP, as a person (or an attacker holding only the password) would.
"""

import re
from types import SimpleNamespace

import pyotp
import pytest
from asgiref.sync import async_to_sync
from django.conf import settings as django_settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.auth.views import LoginView
from django.contrib.sessions.models import Session
from django.contrib.staticfiles.views import serve
from django.core import mail
from django.test import AsyncClient, Client
from django.urls import path, re_path, reverse

from example_project.urls import urlpatterns as site_urlpatterns
from mfa_app import crypto
from mfa_app.models import ApplicationPolicy, Requirement, TOTPFactor

from .conftest import is_logged_in, login_form, password_login
from .factories import (
    PASSWORD,
    InvitationFactory,
    StaffFactory,
    TenantPolicyFactory,
    TOTPFactorFactory,
    UserFactory,
    code_for,
)

# The example site plus its static files served as ``runserver`` serves them (DEBUG is off in
# tests, so the example's own URLconf has no static route). Used by the static-files test.
urlpatterns = [*site_urlpatterns, re_path(r"^static/(?P<path>.*)$", serve, {"insecure": True})]
# A site's own login view that sends every user to a page of its choosing.
urlpatterns.append(path("own-login/", LoginView.as_view(next_page="/private/"), name="own_login"))

CHALLENGE = reverse("mfa_app:challenge")
ENROLL = reverse("mfa_app:enroll")
ENROLL_TOTP = reverse("mfa_app:enroll_totp")
NEW_PASSWORD = "Quartz-lantern-Zebra-1987"
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
SSO_BACKEND = "django.contrib.auth.backends.RemoteUserBackend"
MIDDLEWARE = "mfa_app.middleware.MFAMiddleware"
JSON = {"HTTP_ACCEPT": "application/json"}

User = get_user_model()
EMAIL_FIELD = User.get_email_field_name()
USES_USERNAME = User.USERNAME_FIELD != EMAIL_FIELD


def set_requirement(requirement: str) -> None:
    policy = ApplicationPolicy.load()
    policy.requirement = requirement
    policy.save()


def user_with_email(email: str):
    return User._default_manager.get(**{EMAIL_FIELD: email})


# --- the four ways in -------------------------------------------------------------------------


def sign_up(client: Client, email: str = "newcomer@example.com"):
    data = {"email": email, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    if USES_USERNAME:
        data[User.USERNAME_FIELD] = email.split("@")[0]
    response = client.post(reverse("signup"), data)
    assert response.status_code == 302, response.context["form"].errors
    return user_with_email(email)


def reset_password(client: Client, user):
    """Ask for a reset link, open it from the email, choose a new password."""
    mail.outbox.clear()
    response = client.post(reverse("password_reset"), {"email": user.email})
    assert response.status_code == 302
    (message,) = mail.outbox
    link = re.search(r"https?://testserver(/accounts/reset/\S+/\S+/)", message.body).group(1)
    opened = client.get(link)
    # Django moves the token from the URL into the session, then asks for the password.
    assert opened.status_code == 302
    form_url = opened["Location"]
    assert client.get(form_url).status_code == 200
    response = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302, response.context["form"].errors
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    return user


def accept_invitation(client: Client, invitation):
    data = {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    if USES_USERNAME:
        data[User.USERNAME_FIELD] = invitation.email.split("@")[0]
    response = client.post(reverse("accept_invitation", args=[invitation.token]), data)
    assert response.status_code == 302, response.context["form"].errors
    user = user_with_email(invitation.email)
    assert user.membership.organization == invitation.organization
    return user


LOGIN_PATHS = ["password-login", "signup", "password-reset", "invitation"]


def log_in_by(path: str, client: Client, user=None):
    """Become logged in the way ``path`` does it; return the user it logged in."""
    if path == "password-login":
        user = user or UserFactory()
        assert password_login(client, user).status_code == 302
        return user
    if path == "signup":
        return sign_up(client)
    if path == "password-reset":
        return reset_password(client, user or UserFactory())
    if path == "invitation":
        return accept_invitation(client, InvitationFactory())
    raise AssertionError(path)


# --- reading the pages ------------------------------------------------------------------------


def secret_on(page) -> str:
    """The base32 secret the enrollment page shows under "Can't scan it?"."""
    html = page.content.decode()
    match = re.search(r'<code class="mfa-secret-key" data-secret>\s*([A-Z2-7]+=*)\s*</code>', html)
    assert match, "the enrollment page shows no secret"
    return match.group(1)


def recovery_codes_on(page) -> list[str]:
    html = page.content.decode()
    assert 'class="mfa-codes"' in html, "no recovery codes on this page"
    block = html.split('class="mfa-codes"', 1)[1].split("</ul>", 1)[0]
    return re.findall(r"<li><code>([^<]+)</code></li>", block)


def enroll_from_pending(client: Client, user) -> list[str]:
    """From a pending login that must enroll: choose the TOTP page, confirm a code.

    Returns the recovery codes shown after enrollment.
    """
    assert not is_logged_in(client)
    choose = client.get(reverse("private"), follow=True)
    assert [url for url, _status in choose.redirect_chain] == [ENROLL]
    assert ENROLL_TOTP in choose.content.decode()
    page = client.get(ENROLL_TOTP)
    assert page.status_code == 200
    secret = secret_on(page)
    # The secret the page shows is the one kept server side for this user, encrypted.
    stored = client.session["_mfa_totp_secret"]
    assert stored["user"] == str(user.pk) and secret not in stored["secret"]
    assert crypto.decrypt(stored["secret"]) == secret
    pending_key = client.session.session_key
    response = client.post(ENROLL_TOTP, {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 200
    codes = recovery_codes_on(response)
    assert is_logged_in(client)
    assert client.session.session_key != pending_key
    assert [d.key for d in TOTPFactor.objects.filter(user=user, confirmed=True)] == [secret]
    return codes


# --- (a) REQUIRED: every path ends in enrollment ----------------------------------------------


@pytest.mark.parametrize("path", LOGIN_PATHS)
def test_under_a_required_policy_every_way_in_leads_to_enrollment_first(client, path):
    set_requirement(Requirement.REQUIRED)
    user = log_in_by(path, client)

    assert not is_logged_in(client)
    assert "_mfa_pending" in client.session
    for url in ("/", reverse("private"), reverse("mfa_app:security"), "/admin/"):
        assert client.get(url)["Location"] == ENROLL, url

    codes = enroll_from_pending(client, user)

    assert len(codes) == 10
    assert len(set(codes)) == 10
    private = client.get(reverse("private"))
    assert private.status_code == 200
    assert user.get_username() in private.content.decode()


def test_a_tenant_policy_requiring_mfa_applies_to_the_invitation_login(client):
    # The application policy stays OPTIONAL: only the organisation requires MFA.
    invitation = InvitationFactory()
    TenantPolicyFactory(tenant=invitation.organization, requirement=Requirement.REQUIRED)

    user = accept_invitation(client, invitation)

    assert not is_logged_in(client)
    assert client.get("/")["Location"] == ENROLL
    codes = enroll_from_pending(client, user)
    assert len(codes) == 10
    assert client.get(reverse("private")).status_code == 200


def test_an_invitation_to_an_organisation_without_an_override_follows_the_application(client):
    invitation = InvitationFactory()
    TenantPolicyFactory(
        tenant=invitation.organization, requirement=Requirement.REQUIRED, override=False
    )
    accept_invitation(client, invitation)
    assert is_logged_in(client)


def test_the_recovery_codes_page_continues_to_the_page_first_asked_for(client):
    set_requirement(Requirement.REQUIRED)
    user = UserFactory()
    password_login(client, user, next_url=reverse("private"))
    page = client.get(ENROLL_TOTP)
    response = client.post(ENROLL_TOTP, {"code": pyotp.TOTP(secret_on(page)).now()})
    assert f'name="next" value="{reverse("private")}"' in response.content.decode()
    done = client.post(
        reverse("mfa_app:recovery_codes_done"), {"saved": "1", "next": reverse("private")}
    )
    assert done["Location"] == reverse("private")
    assert client.get(done["Location"]).status_code == 200


def test_a_wrong_enrollment_code_keeps_the_login_pending(client):
    set_requirement(Requirement.REQUIRED)
    user = UserFactory()
    password_login(client, user)
    secret = secret_on(client.get(ENROLL_TOTP))
    wrong = str((int(pyotp.TOTP(secret).now()) + 500_000) % 1_000_000).zfill(6)
    response = client.post(ENROLL_TOTP, {"code": wrong})
    assert response.status_code == 400
    assert not is_logged_in(client)
    assert not TOTPFactor.objects.filter(user=user).exists()
    assert client.get("/")["Location"] == ENROLL


# --- (b) a user holding TOTP is challenged -----------------------------------------------------


@pytest.mark.parametrize("requirement", [Requirement.OPTIONAL, Requirement.REQUIRED])
@pytest.mark.parametrize("path", ["password-login", "password-reset"])
def test_a_user_with_totp_is_challenged_and_logged_in_only_after_a_valid_code(
    client, path, requirement
):
    set_requirement(requirement)
    device = TOTPFactorFactory()
    log_in_by(path, client, user=device.user)

    assert not is_logged_in(client)
    page = client.get(reverse("private"), follow=True)
    assert page.redirect_chain == [(CHALLENGE, 302)]
    assert 'name="code"' in page.content.decode()

    wrong = client.post(CHALLENGE, {"code": code_for(device, offset_steps=10)})
    assert wrong.status_code == 400
    assert not is_logged_in(client)

    right = client.post(CHALLENGE, {"code": code_for(device)})
    assert right.status_code == 302
    assert is_logged_in(client)
    assert client.get(reverse("private")).status_code == 200


def test_the_reset_password_alone_is_not_enough_after_the_reset(client):
    """The reset link logs in (post_reset_login) but the new password does not skip MFA."""
    device = TOTPFactorFactory()
    reset_password(client, device.user)
    other = Client()
    other.post(reverse("login"), {**login_form(device.user), "password": NEW_PASSWORD})
    for each in (client, other):
        assert not is_logged_in(each)
        assert each.get("/")["Location"] == CHALLENGE


def test_a_password_reset_by_the_owner_ends_a_pending_login_started_with_the_old_password(
    client,
):
    """Django ends sessions when the password changes; a half-finished login must end too.

    An attacker with a stolen password reaches enrollment (REQUIRED policy, no factor yet);
    the owner resets the password meanwhile. The attacker must not be able to finish.
    """
    set_requirement(Requirement.REQUIRED)
    victim = UserFactory()
    attacker = client
    password_login(attacker, victim)
    reset_password(Client(), victim)

    page = attacker.get(ENROLL_TOTP, follow=True)
    if page.status_code == 200 and "data-secret" in page.content.decode():
        attacker.post(ENROLL_TOTP, {"code": pyotp.TOTP(secret_on(page)).now()})
    assert not is_logged_in(attacker)
    assert not TOTPFactor.objects.filter(user=victim).exists()


# --- a pending login opens nothing -------------------------------------------------------------


@pytest.fixture(params=["challenge", "enroll"])
def pending(request, client):
    """A browser that passed the password step and must now answer or enroll."""
    if request.param == "challenge":
        device = TOTPFactorFactory()
        user = device.user
        target, status = CHALLENGE, "MFA_REQUIRED"
    else:
        set_requirement(Requirement.REQUIRED)
        device, user = None, UserFactory()
        target, status = ENROLL, "MFA_ENROLLMENT_REQUIRED"
    assert password_login(client, user).status_code == 302
    return SimpleNamespace(
        client=client, user=user, device=device, kind=request.param, target=target, status=status
    )


CLOSED = [
    "/",
    "/private/",
    "/admin/",
    "/admin/auth/group/",
    "/mfa/security/",
    "/mfa/reauthenticate/",
    "/mfa/recovery-codes/regenerate/",
    "/mfa/recovery-codes/done/",
    "/mfa/factors/TOTP/1/remove/",
    "/accounts/login/",
    "/accounts/signup/",
    "/accounts/password-reset/",
    "/accounts/reset/MQ/set-password/",
    "/invitations/some-token/",
    "/no/such/page/",
]


@pytest.mark.parametrize("url", CLOSED)
def test_every_page_sends_a_pending_login_to_its_mfa_step(pending, url):
    get = pending.client.get(url)
    assert get.status_code == 302
    assert get["Location"] == pending.target
    post = pending.client.post(url, {"code": "123456", "password": PASSWORD, "saved": "1"})
    assert post.status_code == 302
    assert post["Location"] == pending.target
    assert not is_logged_in(pending.client)


def test_the_json_api_answers_a_pending_login_with_401_and_its_status(pending):
    response = pending.client.get(reverse("api_me"), **JSON)
    assert response.status_code == 401
    body = response.json()
    assert body["status"] == pending.status
    assert body["url"] == pending.target
    assert pending.user.get_username() not in response.content.decode()


def test_json_posts_from_a_pending_login_are_refused_too(pending):
    response = pending.client.post(
        reverse("api_me"), data="{}", content_type="application/json", **JSON
    )
    assert response.status_code == 401
    assert response.json()["status"] == pending.status


def test_a_pending_login_reaches_its_own_mfa_step(pending):
    page = pending.client.get(pending.target, follow=True)
    assert page.status_code == 200
    assert not is_logged_in(pending.client)


def test_a_page_opened_to_pending_logins_still_sees_an_anonymous_user(settings, pending):
    # A site may open some pages to pending logins; the view must not see the user there.
    settings.MFA_PENDING_ALLOWED_URL_NAMES = ["home", "private", "api_me"]
    client = pending.client
    api = client.get(reverse("api_me"), **JSON)
    assert api.status_code == 401
    assert api.json() == {"error": {"code": "not_authenticated"}}
    home = client.get(reverse("home"))
    assert home.status_code == 200
    assert "You are signed in" not in home.content.decode()
    assert not home.context["user"].is_authenticated
    private = client.get(reverse("private"))
    assert private.status_code == 302
    assert private["Location"].startswith(reverse("login"))


def test_without_the_middleware_a_pending_login_is_still_anonymous(settings, pending):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != MIDDLEWARE]
    # A new client builds its handler (and so its middleware chain) from the new settings.
    client = Client()
    client.cookies = pending.client.cookies
    assert client.get(reverse("api_me"), **JSON).json() == {"error": {"code": "not_authenticated"}}
    assert client.get(reverse("private"))["Location"].startswith(reverse("login"))
    assert not client.get(reverse("home")).context["user"].is_authenticated


def test_a_challenge_pending_login_cannot_enroll_a_new_factor(client):
    """Holding only the password must not let anyone add their own factor (V-12)."""
    device = TOTPFactorFactory()
    password_login(client, device.user)
    attacker_secret = pyotp.random_base32()
    for url in (ENROLL, ENROLL_TOTP):
        assert client.get(url).status_code == 302
        response = client.post(url, {"code": pyotp.TOTP(attacker_secret).now()})
        assert response.status_code == 302
    assert list(TOTPFactor.objects.filter(user=device.user)) == [device]
    assert not is_logged_in(client)


def test_logout_from_a_pending_login_wipes_it(pending):
    client = pending.client
    pending_key = client.session.session_key
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    # Wiped server side, not only forgotten by this browser.
    assert not Session.objects.filter(session_key=pending_key).exists()
    assert "_mfa_pending" not in client.session
    assert client.get(reverse("home")).status_code == 200
    # The MFA step of the old login is gone: back to the password.
    assert client.get(pending.target)["Location"] == reverse("login")
    if pending.device is not None:
        answer = client.post(CHALLENGE, {"code": code_for(pending.device)})
        assert answer["Location"] == reverse("login")
    assert not is_logged_in(client)
    # A copy of the old cookie opens nothing either.
    replay = Client()
    replay.cookies[django_settings.SESSION_COOKIE_NAME] = pending_key
    assert replay.get(reverse("home")).status_code == 200
    assert not is_logged_in(replay)


def test_static_files_stay_reachable_from_a_pending_login(settings, pending):
    settings.ROOT_URLCONF = __name__
    response = pending.client.get("/static/mfa_app/mfa.css")
    assert response.status_code == 200
    assert b"".join(response.streaming_content)
    # The rest of the site is still closed.
    assert pending.client.get("/private/")["Location"] == pending.target


def test_the_static_prefix_is_not_a_way_around_the_gate(settings, pending):
    settings.ROOT_URLCONF = __name__
    for url in ("/static/../private/", "/static/%2e%2e/private/", "/static/../admin/"):
        response = pending.client.get(url)
        # Refused as a suspicious file path or not found; never the page behind it.
        assert response.status_code in (302, 400, 404), url
        if response.status_code == 302:
            assert response["Location"] == pending.target
    assert not is_logged_in(pending.client)


# --- what the pending session holds ------------------------------------------------------------


@pytest.mark.parametrize("path", ["password-login", "password-reset"])
def test_the_pending_session_holds_no_password_or_password_hash(client, path):
    """PEND-02 / V-01: nothing that stands for the password waits in the session."""
    device = TOTPFactorFactory()
    user = log_in_by(path, client, user=device.user)
    user.refresh_from_db()

    session = client.session
    data = Session.objects.get(session_key=session.session_key).get_decoded()
    assert data == dict(session.items())
    flat = repr(data)
    for secret in (PASSWORD, NEW_PASSWORD, user.password, user.get_session_auth_hash()):
        assert secret not in flat
    assert user.password.split("$")[-1] not in flat
    # No auth keys: the session is anonymous until MFA.
    for key in (SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY, "otp_device_id"):
        assert key not in data
    # The password-reset token is spent, not left waiting in the pending session.
    assert "_password_reset_token" not in data
    assert "_mfa_pending" in data


def test_the_session_key_changes_at_the_password_step_and_again_after_mfa(client):
    device = TOTPFactorFactory()
    planted = client.session.session_key  # an anonymous session someone could have planted
    password_login(client, device.user)
    pending_key = client.session.session_key
    assert pending_key != planted
    assert not Session.objects.filter(session_key=planted).exists()

    client.post(CHALLENGE, {"code": code_for(device)})
    final_key = client.session.session_key
    assert is_logged_in(client)
    assert final_key not in {planted, pending_key}
    assert not Session.objects.filter(session_key=pending_key).exists()

    # Whoever kept either earlier cookie is not logged in.
    for old in (planted, pending_key):
        other = Client()
        other.cookies[django_settings.SESSION_COOKIE_NAME] = old
        assert not is_logged_in(other)


# --- the Django admin -------------------------------------------------------------------------


def test_the_admin_login_with_a_password_alone_does_not_open_the_admin(client):
    """PEND-06 / V-05: /admin/login/ is one more way in, and it meets the challenge too."""
    staff = StaffFactory()
    device = TOTPFactorFactory(user=staff)
    response = client.post(reverse("admin:login"), {**login_form(staff), "next": "/admin/"})
    assert response.status_code == 302

    assert not is_logged_in(client)
    for url in ("/admin/", "/admin/auth/group/", reverse("admin:login")):
        assert client.get(url)["Location"] == CHALLENGE, url

    answer = client.post(CHALLENGE, {"code": code_for(device)})
    assert answer["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_the_admin_login_sends_a_required_staff_user_without_a_factor_to_enrollment(client):
    set_requirement(Requirement.REQUIRED)
    staff = StaffFactory()
    client.post(reverse("admin:login"), {**login_form(staff), "next": "/admin/"})
    assert client.get("/admin/")["Location"] == ENROLL
    assert not is_logged_in(client)


# --- ASGI -------------------------------------------------------------------------------------


def test_the_middleware_closes_pages_to_a_pending_login_under_asgi(totp_user):
    client = AsyncClient()
    device = TOTPFactor.objects.get(user=totp_user)

    async def visit():
        login = await client.post(reverse("login"), login_form(totp_user))
        private = await client.get(reverse("private"))
        api = await client.get(reverse("api_me"), headers={"Accept": "application/json"})
        challenge = await client.get(CHALLENGE)
        return login, private, api, challenge

    login, private, api, challenge = async_to_sync(visit)()
    assert login.status_code == 302
    assert private.status_code == 302
    assert private["Location"] == CHALLENGE
    assert api.status_code == 401
    assert api.json()["status"] == "MFA_REQUIRED"
    assert challenge.status_code == 200

    async def answer():
        verified = await client.post(CHALLENGE, {"code": code_for(device)})
        private = await client.get(reverse("private"))
        return verified, private

    verified, private = async_to_sync(answer)()
    assert verified.status_code == 302
    assert private.status_code == 200


def test_an_async_force_login_of_a_totp_user_is_pending_under_asgi(totp_user):
    client = AsyncClient()

    async def visit():
        await client.aforce_login(totp_user, backend=MODEL_BACKEND)
        return await client.get(reverse("private"))

    assert async_to_sync(visit)()["Location"] == CHALLENGE


# --- when MFA does not apply ------------------------------------------------------------------


def test_optional_policy_without_a_factor_logs_in_directly(client, user):
    set_requirement(Requirement.OPTIONAL)
    response = password_login(client, user)
    assert response["Location"] == reverse("home")
    assert is_logged_in(client)
    assert client.get(reverse("private")).status_code == 200
    assert "_mfa_pending" not in client.session


@pytest.mark.parametrize("path", ["signup", "invitation"])
def test_optional_policy_signup_and_invitation_log_in_directly(client, path):
    log_in_by(path, client)
    assert is_logged_in(client)


def test_disabled_policy_logs_a_user_with_a_factor_in_directly(client, totp_user):
    set_requirement(Requirement.DISABLED)
    response = password_login(client, totp_user)
    assert response["Location"] == reverse("home")
    assert is_logged_in(client)
    assert client.get(reverse("private")).status_code == 200
    assert client.get(reverse("mfa_app:security")).status_code == 404
    assert client.get(ENROLL_TOTP).status_code == 404
    # The factor is kept for when the policy is switched back on.
    assert TOTPFactor.objects.filter(user=totp_user).exists()


@pytest.mark.parametrize(
    ("requirement", "has_factor"),
    [(Requirement.OPTIONAL, True), (Requirement.REQUIRED, True), (Requirement.REQUIRED, False)],
)
def test_a_login_through_an_exempt_backend_is_not_challenged(
    settings, client, requirement, has_factor
):
    settings.AUTHENTICATION_BACKENDS = [MODEL_BACKEND, SSO_BACKEND]
    settings.MFA_EXEMPT_BACKENDS = [SSO_BACKEND]
    set_requirement(requirement)
    user = TOTPFactorFactory().user if has_factor else UserFactory()

    client.force_login(user, backend=SSO_BACKEND)
    assert is_logged_in(client)
    assert client.get(reverse("private")).status_code == 200

    # The same user through the site's own password backend still meets MFA.
    own = Client()
    own.force_login(user, backend=MODEL_BACKEND)
    assert not is_logged_in(own)
    assert own.get("/")["Location"] == (CHALLENGE if has_factor else ENROLL)


# --- straight to the MFA step ----------------------------------------------------------------


def test_the_password_step_redirects_straight_to_the_challenge_and_on_to_next(client):
    """No stop at a page the pending login could not open: one redirect fewer per sign-in."""
    device = TOTPFactorFactory()
    response = password_login(client, device.user, next_url="/private/")
    assert response["Location"] == CHALLENGE

    answer = client.post(CHALLENGE, {"code": code_for(device)})
    assert answer["Location"] == "/private/"


def test_where_the_login_view_sent_the_user_is_where_mfa_continues_to(settings, client):
    """A login view with a page of its own (``next_page``): passing MFA continues there."""
    settings.ROOT_URLCONF = __name__
    device = TOTPFactorFactory()
    response = client.post("/own-login/", login_form(device.user))
    assert response["Location"] == CHALLENGE

    answer = client.post(CHALLENGE, {"code": code_for(device)})
    assert answer["Location"] == "/private/"


def test_a_pending_enrollment_is_sent_straight_to_enrollment(client):
    set_requirement(Requirement.REQUIRED)
    response = password_login(client, UserFactory())
    assert response["Location"] == ENROLL
    assert not is_logged_in(client)


def test_a_wrong_password_stays_on_the_login_page(client):
    device = TOTPFactorFactory()
    response = client.post(reverse("login"), {**login_form(device.user), "password": "wrong"})
    assert response.status_code == 200
    assert not is_logged_in(client)
