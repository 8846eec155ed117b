# Stored API keys become Fernet tokens (badges.encryption): the columns become plain text first,
# the existing keys are encrypted in place, then the fields become encrypted fields (no schema change).

import badges.encryption
from django.db import migrations, models

ACCOUNT_MODELS = ("credlyorganization", "accredibleapiconfig")


def _convert_stored_keys(apps, convert):
    for model_name in ACCOUNT_MODELS:
        model = apps.get_model("badges", model_name)
        for pk, value in model.objects.exclude(api_key="").values_list("pk", "api_key"):
            model.objects.filter(pk=pk).update(api_key=convert(value))


def encrypt_stored_keys(apps, schema_editor):
    _convert_stored_keys(apps, badges.encryption.encrypt)


def decrypt_stored_keys(apps, schema_editor):
    _convert_stored_keys(apps, badges.encryption.decrypt)


class Migration(migrations.Migration):

    dependencies = [
        ('badges', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='credlywebhookevent',
            name='credly_badge_id',
            field=models.UUIDField(blank=True, db_index=True, help_text='For badge events: the Credly badge whose state this event set (once applied).', null=True),
        ),
        migrations.AddField(
            model_name='credlywebhookevent',
            name='occurred_at_time',
            field=models.DateTimeField(blank=True, help_text="When Credly's own record says the event happened; badge events apply in this order.", null=True),
        ),
        migrations.AlterField(
            model_name='accredibleapiconfig',
            name='api_key',
            field=models.TextField(help_text='API key; stored encrypted, never shown again.'),
        ),
        migrations.AlterField(
            model_name='credlyorganization',
            name='api_key',
            field=models.TextField(blank=True, help_text='Authorization token; stored encrypted, never shown again.'),
        ),
        migrations.RunPython(encrypt_stored_keys, decrypt_stored_keys),
        migrations.AlterField(
            model_name='accredibleapiconfig',
            name='api_key',
            field=badges.encryption.EncryptedTextField(help_text='API key; stored encrypted, never shown again.'),
        ),
        migrations.AlterField(
            model_name='credlyorganization',
            name='api_key',
            field=badges.encryption.EncryptedTextField(blank=True, help_text='Authorization token; stored encrypted, never shown again.'),
        ),
    ]
