from django.apps import AppConfig
from django.core import checks


class BadgesConfig(AppConfig):
    name = "badges"
    label = "badges"
    verbose_name = "Badges"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from badges.conf import check_badges_config

        checks.register(check_badges_config, checks.Tags.compatibility)
