"""Provider API keys are stored encrypted, rotate with a management command and never leave in a dump."""
from __future__ import annotations

import io
import json
import uuid

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from badges.encryption import UndecryptableKeyError, check_encryption_keys, check_encryption_keys_deploy
from badges.models import AccredibleAPIConfig, CredlyOrganization

pytestmark = pytest.mark.django_db

CREDLY_KEY = "credly-plaintext-key-4711"
ACCREDIBLE_KEY = "accredible-plaintext-key-0815"


def stored_column(model, pk) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT api_key FROM {model._meta.db_table} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


def make_accounts() -> tuple[CredlyOrganization, AccredibleAPIConfig]:
    return (CredlyOrganization.objects.create(uuid=uuid.uuid4(), api_key=CREDLY_KEY),
            AccredibleAPIConfig.objects.create(name="Issuer", api_key=ACCREDIBLE_KEY))


def test_keys_are_stored_as_tokens_and_read_back_as_plaintext():
    org, config = make_accounts()
    assert CREDLY_KEY not in stored_column(CredlyOrganization, org.pk)
    assert ACCREDIBLE_KEY not in stored_column(AccredibleAPIConfig, config.pk)
    assert stored_column(CredlyOrganization, org.pk).startswith("gAAAAA")
    assert CredlyOrganization.objects.get(pk=org.pk).effective_api_key == CREDLY_KEY
    assert AccredibleAPIConfig.objects.get(pk=config.pk).effective_api_key == ACCREDIBLE_KEY


def test_empty_key_of_a_preconfigured_organization_stays_empty_and_the_settings_key_is_used(settings):
    org_id = str(uuid.uuid4())
    settings.BADGES_CONFIG = {"credly": {"ORGANIZATIONS": {org_id: "key-from-settings"}}}
    org = CredlyOrganization.objects.create(uuid=org_id)
    assert stored_column(CredlyOrganization, org.pk) == ""
    assert CredlyOrganization.objects.get(pk=org.pk).effective_api_key == "key-from-settings"


def test_dumpdata_prints_no_key_and_loaddata_restores_it(tmp_path):
    org, config = make_accounts()
    out = io.StringIO()
    call_command("dumpdata", "badges", stdout=out)
    assert CREDLY_KEY not in out.getvalue() and ACCREDIBLE_KEY not in out.getvalue()
    dump = tmp_path / "badges.json"
    dump.write_text(out.getvalue())
    CredlyOrganization.objects.all().delete()
    AccredibleAPIConfig.objects.all().delete()
    call_command("loaddata", str(dump), verbosity=0)
    assert CredlyOrganization.objects.get(pk=org.pk).api_key == CREDLY_KEY
    assert AccredibleAPIConfig.objects.get(pk=config.pk).api_key == ACCREDIBLE_KEY
    dumped = {row["model"] for row in json.loads(out.getvalue())}
    assert {"badges.credlyorganization", "badges.accredibleapiconfig"} <= dumped


def test_rotation_old_key_decrypts_until_reencrypted_then_can_be_removed(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.BADGES_FIELD_ENCRYPTION_KEYS = [old]
    org, config = make_accounts()
    settings.BADGES_FIELD_ENCRYPTION_KEYS = [new, old]
    assert CredlyOrganization.objects.get(pk=org.pk).api_key == CREDLY_KEY
    out = io.StringIO()
    call_command("reencrypt_api_keys", stdout=out)
    assert "Re-encrypted 2 stored API key(s)" in out.getvalue()
    settings.BADGES_FIELD_ENCRYPTION_KEYS = [new]
    assert CredlyOrganization.objects.get(pk=org.pk).api_key == CREDLY_KEY
    assert AccredibleAPIConfig.objects.get(pk=config.pk).api_key == ACCREDIBLE_KEY
    settings.BADGES_FIELD_ENCRYPTION_KEYS = [old]
    with pytest.raises(UndecryptableKeyError) as raised:
        CredlyOrganization.objects.get(pk=org.pk)
    assert "BADGES_FIELD_ENCRYPTION_KEYS" in str(raised.value)


def test_reencrypting_without_the_old_key_names_the_row_and_stops(settings):
    settings.BADGES_FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    org, _ = make_accounts()
    settings.BADGES_FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(Exception, match=f"Credly organization {org.pk}: A stored API key cannot be decrypted"):
        call_command("reencrypt_api_keys")


def test_keys_derived_from_secret_key_survive_a_secret_key_rotation(settings):
    settings.BADGES_FIELD_ENCRYPTION_KEYS = []
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "first-secret-key-for-the-test", []
    org, _ = make_accounts()
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "second-secret-key-for-the-test", [settings.SECRET_KEY]
    call_command("reencrypt_api_keys", stdout=io.StringIO())
    settings.SECRET_KEY_FALLBACKS = []
    assert CredlyOrganization.objects.get(pk=org.pk).api_key == CREDLY_KEY
    assert [w.id for w in check_encryption_keys_deploy()] == ["badges.W030"]


def test_a_key_that_is_not_a_fernet_key_is_a_system_check_error(settings):
    settings.BADGES_FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), "not-a-fernet-key"]
    [error] = check_encryption_keys()
    assert error.id == "badges.E030" and "key #2 is not a Fernet key" in error.msg
    assert "not-a-fernet-key" not in error.msg
    settings.BADGES_FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    assert check_encryption_keys() == [] and check_encryption_keys_deploy() == []


@pytest.mark.django_db(transaction=True)
def test_migration_encrypts_keys_stored_in_plain_text():
    executor = MigrationExecutor(connection)
    executor.migrate([("badges", "0001_initial")])
    old_apps = executor.loader.project_state([("badges", "0001_initial")]).apps
    org = old_apps.get_model("badges", "CredlyOrganization").objects.create(uuid=uuid.uuid4(), api_key=CREDLY_KEY)
    old_apps.get_model("badges", "CredlyOrganization").objects.create(uuid=uuid.uuid4(), api_key="")
    config = old_apps.get_model("badges", "AccredibleAPIConfig").objects.create(name="n", api_key=ACCREDIBLE_KEY)
    assert stored_column(CredlyOrganization, org.pk) == CREDLY_KEY
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes("badges"))
    assert stored_column(CredlyOrganization, org.pk).startswith("gAAAAA")
    assert CredlyOrganization.objects.get(pk=org.pk).api_key == CREDLY_KEY
    assert AccredibleAPIConfig.objects.get(pk=config.pk).api_key == ACCREDIBLE_KEY
    assert sorted(CredlyOrganization.objects.values_list("api_key", flat=True)) == ["", CREDLY_KEY]


def test_setting_own_keys_for_the_first_time_then_secret_key_reads_nothing(settings):
    settings.BADGES_FIELD_ENCRYPTION_KEYS = []
    org, _ = make_accounts()
    own = Fernet.generate_key().decode()
    settings.BADGES_FIELD_ENCRYPTION_KEYS = [own]
    assert CredlyOrganization.objects.get(pk=org.pk).api_key == CREDLY_KEY  # derived key still decrypts
    call_command("reencrypt_api_keys", stdout=io.StringIO())
    token = stored_column(CredlyOrganization, org.pk)
    assert Fernet(own.encode()).decrypt(token.encode()).decode() == CREDLY_KEY
    settings.BADGES_FIELD_ENCRYPTION_KEYS = []  # SECRET_KEY alone, as someone holding it would try
    with pytest.raises(UndecryptableKeyError):
        CredlyOrganization.objects.get(pk=org.pk)


@pytest.mark.django_db(transaction=True)
def test_migrating_back_decrypts_the_keys():
    org = CredlyOrganization.objects.create(uuid=uuid.uuid4(), api_key=CREDLY_KEY)
    executor = MigrationExecutor(connection)
    executor.migrate([("badges", "0001_initial")])
    try:
        assert stored_column(CredlyOrganization, org.pk) == CREDLY_KEY
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes("badges"))
    assert CredlyOrganization.objects.get(pk=org.pk).api_key == CREDLY_KEY
