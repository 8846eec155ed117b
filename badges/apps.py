import atexit

from django.apps import AppConfig
from django.core import checks


class BadgesConfig(AppConfig):
    name = "badges"
    label = "badges"
    verbose_name = "Badges"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from badges.conf import badges_enabled, check_badges_config
        from badges.database import check_database_timeouts

        checks.register(check_badges_config, checks.Tags.compatibility)
        checks.register(check_database_timeouts)
        if badges_enabled():
            from badges.receivers import connect_receivers
            from badges.signals import flush_event_bus_producer

            connect_receivers()
            atexit.register(flush_event_bus_producer)
