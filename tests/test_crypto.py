"""Secrets at rest (OTP-08): encrypted TOTP secrets, key rotation, and the key checks."""

import io
import logging
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core import serializers
from django.core.checks import Error, Warning
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from mfa_app import crypto
from mfa_app.checks_crypto import check_encryption_keys
from mfa_app.factors.totp import generate_secret
from mfa_app.models import TOTPFactor

from .conftest import is_logged_in, password_login, sign_in_with_mfa
from .factories import TOTPFactorFactory, UserFactory, code_for
from .test_checks import ids, run_all_checks

OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()
SECRET = generate_secret()


def stored(device: Any) -> str:
    """The ``key`` column exactly as the database holds it."""
    table = connection.ops.quote_name(TOTPFactor._meta.db_table)
    column = connection.ops.quote_name("key")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [device.pk])  # noqa: S608
        return cursor.fetchone()[0]


def store_in_clear(device: TOTPFactor, value: str) -> None:
    """Write ``value`` as a row from before encryption would hold it."""
    table = connection.ops.quote_name(TOTPFactor._meta.db_table)
    column = connection.ops.quote_name("key")
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {column} = %s WHERE id = %s", [value, device.pk])  # noqa: S608


def rotate_keys(*args: str) -> str:
    out = io.StringIO()
    call_command("mfa_rotate_keys", *args, stdout=out)
    return out.getvalue()


def fresh(device: TOTPFactor) -> TOTPFactor:
    return TOTPFactor.objects.get(pk=device.pk)


# --- at rest ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_secret_is_not_in_the_database_in_clear():
    device = TOTPFactorFactory(key=SECRET)
    raw = stored(device)
    assert raw.startswith(crypto.TOKEN_PREFIX)
    assert SECRET not in raw and SECRET.lower() not in raw
    assert crypto.decrypt(raw) == SECRET
    assert fresh(device).key == SECRET


@pytest.mark.django_db
def test_sign_in_with_an_authenticator_app_still_works(client):
    user = TOTPFactorFactory(key=SECRET).user
    sign_in_with_mfa(client, user)
    assert is_logged_in(client)


@pytest.mark.django_db
def test_saving_a_device_without_touching_its_secret_keeps_the_token():
    device = fresh(TOTPFactorFactory(key=SECRET))
    before = stored(device)
    device.name = "Work phone"
    device.save()
    assert stored(device) == before


@pytest.mark.django_db
def test_the_secret_cannot_be_looked_up_by_value():
    TOTPFactorFactory(key=SECRET)
    with pytest.raises(FieldError):
        TOTPFactor.objects.filter(key=SECRET).exists()
    assert TOTPFactor.objects.filter(key__isnull=False).count() == 1


@pytest.mark.django_db
def test_a_clear_value_that_looks_like_a_token_is_refused():
    with pytest.raises(ValueError, match="starts every token"):
        TOTPFactorFactory(key=f"{crypto.TOKEN_PREFIX}ABC")


@pytest.mark.django_db
def test_serialized_devices_carry_the_token_and_load_back():
    device = TOTPFactorFactory(key=SECRET)
    dumped = serializers.serialize("json", [fresh(device)])
    assert SECRET not in dumped and crypto.TOKEN_PREFIX in dumped
    TOTPFactor.objects.all().delete()
    for obj in serializers.deserialize("json", dumped):
        obj.save()
    assert fresh(device).key == SECRET


# --- rotation ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_rotation_add_a_key_re_encrypt_then_drop_the_old_one(settings, client):
    settings.MFA_ENCRYPTION_KEYS = [OLD]
    device = TOTPFactorFactory(key=SECRET)
    under_old = stored(device)

    settings.MFA_ENCRYPTION_KEYS = [NEW, OLD]
    assert fresh(device).key == SECRET
    out = rotate_keys()
    assert "mfa_app.TOTPFactor.key: 0 encrypted (were in clear), 1 re-encrypted" in out
    assert stored(device) != under_old

    settings.MFA_ENCRYPTION_KEYS = [NEW]
    assert fresh(device).key == SECRET
    sign_in_with_mfa(client, device.user)
    assert is_logged_in(client)


@pytest.mark.django_db
def test_rotating_twice_changes_nothing_the_second_time(settings):
    settings.MFA_ENCRYPTION_KEYS = [OLD]
    device = TOTPFactorFactory(key=SECRET)
    settings.MFA_ENCRYPTION_KEYS = [NEW, OLD]
    rotate_keys()
    after_first = stored(device)
    out = rotate_keys()
    assert "0 re-encrypted under the newest key, 1 already under it, 0 unreadable" in out
    assert stored(device) == after_first


@pytest.mark.django_db
def test_a_dry_run_writes_nothing(settings):
    settings.MFA_ENCRYPTION_KEYS = [OLD]
    rotated, legacy = TOTPFactorFactory(key=SECRET), TOTPFactorFactory()
    store_in_clear(legacy, SECRET)
    before = (stored(rotated), stored(legacy))
    settings.MFA_ENCRYPTION_KEYS = [NEW, OLD]
    out = rotate_keys("--dry-run")
    assert "1 would be encrypted (were in clear), 1 would be re-encrypted" in out
    assert "Dry run: nothing was written." in out
    assert (stored(rotated), stored(legacy)) == before


@pytest.mark.django_db
def test_the_command_works_in_small_batches(settings):
    settings.MFA_ENCRYPTION_KEYS = [OLD]
    devices = TOTPFactorFactory.create_batch(5)
    settings.MFA_ENCRYPTION_KEYS = [NEW, OLD]
    assert "5 re-encrypted" in rotate_keys("--batch-size", "2")
    settings.MFA_ENCRYPTION_KEYS = [NEW]
    assert all(crypto.is_current(stored(device)) for device in devices)


# --- values stored before encryption ----------------------------------------------------------


@pytest.mark.django_db
def test_a_secret_still_in_clear_is_read_and_then_encrypted_by_the_command(client):
    device = TOTPFactorFactory()
    store_in_clear(device, SECRET)
    assert fresh(device).key == SECRET
    sign_in_with_mfa(client, device.user)
    assert is_logged_in(client)

    assert "1 encrypted (were in clear), 0 re-encrypted" in rotate_keys()
    assert stored(device).startswith(crypto.TOKEN_PREFIX)
    assert fresh(device).key == SECRET


@pytest.mark.django_db(transaction=True)
def test_the_migration_encrypts_clear_secrets_and_reverses():
    before, after = ("mfa_app", "0005_lockout"), ("mfa_app", "0006_encrypt_totp_secrets")
    MigrationExecutor(connection).migrate([before])
    try:
        old_apps = MigrationExecutor(connection).loader.project_state(before).apps
        old_model = old_apps.get_model("mfa_app", "TOTPFactor")
        device = old_model.objects.create(user_id=UserFactory().pk, name="Phone", key=SECRET)
        MigrationExecutor(connection).migrate([after])
        assert crypto.decrypt(stored(device)) == SECRET
        MigrationExecutor(connection).migrate([before])
        assert stored(device) == SECRET
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


# --- a key that is gone -----------------------------------------------------------------------


@pytest.fixture
def lost_key_device(settings):
    """A device encrypted under a key that is no longer configured."""
    settings.MFA_ENCRYPTION_KEYS = [OLD]
    device = TOTPFactorFactory(key=SECRET)
    settings.MFA_ENCRYPTION_KEYS = [NEW]
    return device


@pytest.mark.django_db
def test_a_secret_under_a_removed_key_raises_the_decryption_error(lost_key_device):
    device = fresh(lost_key_device)  # loading the row is fine; reading the secret is not
    with pytest.raises(crypto.DecryptionError) as caught:
        device.key  # noqa: B018
    message = str(caught.value)
    assert f"mfa_app.TOTPFactor.key, pk {device.pk}" in message
    assert "MFA_ENCRYPTION_KEYS" in message
    assert SECRET not in message and stored(device) not in message


@pytest.mark.django_db
def test_sign_in_with_an_unreadable_secret_fails_closed_with_a_400(lost_key_device, client, caplog):
    password_login(client, lost_key_device.user)
    challenge = reverse("mfa_app:challenge")
    assert client.get(challenge).status_code == 200
    with caplog.at_level(logging.ERROR, logger="django.security"):
        response = client.post(challenge, {"factor": "TOTP", "code": code_for(SECRET)})
    assert response.status_code == 400
    assert not is_logged_in(client)
    assert SECRET not in response.content.decode()
    (record,) = [r for r in caplog.records if r.name == "django.security.DecryptionError"]
    assert SECRET not in record.getMessage()


@pytest.mark.django_db
def test_the_command_names_unreadable_values_and_still_processes_the_rest(lost_key_device):
    readable = TOTPFactorFactory()
    store_in_clear(readable, SECRET)
    with pytest.raises(CommandError, match=f"mfa_app.TOTPFactor pk {lost_key_device.pk}"):
        rotate_keys()
    assert crypto.is_current(stored(readable))


# --- configuration ----------------------------------------------------------------------------


@pytest.mark.parametrize("keys", [None, [], (), ""])
def test_e010_fires_when_no_key_is_set(settings, keys):
    settings.MFA_ENCRYPTION_KEYS = keys
    (message,) = check_encryption_keys()
    assert isinstance(message, Error) and message.id == "mfa_app.E010"
    assert "MFA_ENCRYPTION_KEYS is not set" in message.msg
    assert "Fernet.generate_key()" in message.hint
    assert "mfa_app.E010" in ids(run_all_checks())


def test_e010_fires_for_a_single_string_instead_of_a_list(settings):
    settings.MFA_ENCRYPTION_KEYS = NEW
    (message,) = check_encryption_keys()
    assert message.id == "mfa_app.E010" and "must be a list" in message.msg
    assert NEW not in message.msg


@pytest.mark.parametrize(
    "bad",
    ["not-a-key", NEW[:-2], b"\xff" * 44, 42, None],
    # Named: a generated key in a test's id differs between runs (and pytest-xdist workers).
    ids=["not-a-key", "truncated-key", "not-base64", "an-int", "none"],
)
def test_e011_names_the_position_of_a_malformed_key(settings, bad):
    settings.MFA_ENCRYPTION_KEYS = [NEW, bad]
    (message,) = check_encryption_keys()
    assert isinstance(message, Error) and message.id == "mfa_app.E011"
    assert "MFA_ENCRYPTION_KEYS[1] is not a Fernet key" in message.msg
    assert str(bad) not in message.msg and NEW not in message.msg
    assert "mfa_app.E011" in ids(run_all_checks())


def test_w003_warns_about_a_hand_made_key_when_debug_is_off(settings):
    from example_project.settings import _development_key

    settings.MFA_ENCRYPTION_KEYS = [_development_key]
    settings.DEBUG = False
    (message,) = check_encryption_keys()
    assert isinstance(message, Warning) and message.id == "mfa_app.W003"
    settings.DEBUG = True
    assert check_encryption_keys() == []


def test_an_old_hand_made_key_kept_for_decryption_is_fine(settings):
    from example_project.settings import _development_key

    settings.MFA_ENCRYPTION_KEYS = [NEW, _development_key]
    assert check_encryption_keys() == []


@pytest.mark.django_db
def test_storing_a_secret_without_keys_is_a_clear_configuration_error(settings):
    settings.MFA_ENCRYPTION_KEYS = None
    with pytest.raises(ImproperlyConfigured, match="MFA_ENCRYPTION_KEYS is not set"):
        TOTPFactorFactory()
    settings.MFA_ENCRYPTION_KEYS = [NEW, "oops"]
    with pytest.raises(ImproperlyConfigured, match=r"MFA_ENCRYPTION_KEYS\[1\]"):
        crypto.encrypt(SECRET)


def test_the_command_refuses_to_run_with_a_bad_key(settings):
    settings.MFA_ENCRYPTION_KEYS = ["oops"]
    with pytest.raises(CommandError, match=r"MFA_ENCRYPTION_KEYS\[0\] is not a Fernet key"):
        rotate_keys()
