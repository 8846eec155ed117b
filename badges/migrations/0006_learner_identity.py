"""Progress rows learn the learner's LMS user id, carried over from the user records and stored events."""
from django.conf import settings
from django.db import migrations, models


def carry_over_lms_user_ids(apps, schema_editor):
    """Give each progress row the LMS user id of its username: from the user record, else a stored event.

    A learner renamed before this ran may have two rows for one template (one per name); the row of
    the name in the user record (the newer) gets the id, the other stays keyed by its old username.
    """
    progress_model = apps.get_model("badges", "BadgeProgress")
    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    event_model = apps.get_model("badges", "ReceivedEvent")
    rows = list(progress_model.objects.filter(lms_user_id=None).order_by("id").values_list("id", "username", "template_id"))
    usernames = {username for _id, username, _template in rows}
    if not usernames:
        return
    ids = dict(user_model.objects.filter(username__in=usernames, lms_user_id__isnull=False)
               .values_list("username", "lms_user_id"))
    from_users = set(ids)
    for username, payload in event_model.objects.filter(username__in=usernames - set(ids)).values_list(
            "username", "payload").order_by("-received_at").iterator():
        lms_user_id = ((payload or {}).get("learner") or {}).get("lms_user_id")
        if isinstance(lms_user_id, int):
            ids.setdefault(username, lms_user_id)
    taken = set(progress_model.objects.exclude(lms_user_id=None).values_list("lms_user_id", "template_id"))
    for progress_id, username, template_id in sorted(rows, key=lambda row: (row[1] not in from_users, row[0])):
        lms_user_id = ids.get(username)
        if lms_user_id is not None and (lms_user_id, template_id) not in taken:
            taken.add((lms_user_id, template_id))
            progress_model.objects.filter(id=progress_id).update(lms_user_id=lms_user_id)


class Migration(migrations.Migration):

    dependencies = [
        ('badges', '0005_open_badges_issuer_achievements_credentials'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='badgeprogress',
            name='lms_user_id',
            field=models.PositiveIntegerField(
                blank=True, db_index=True, null=True,
                help_text="The learner's LMS user id, which identifies them across renames; empty for events without one.",
            ),
        ),
        migrations.AlterField(
            model_name='badgeprogress',
            name='username',
            field=models.CharField(db_index=True, help_text="The learner's current username.", max_length=255),
        ),
        migrations.RunPython(carry_over_lms_user_ids, migrations.RunPython.noop),
    ]
