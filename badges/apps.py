import atexit

from django.apps import AppConfig
from django.core import checks


class BadgesConfig(AppConfig):
    name = "badges"
    label = "badges"
    verbose_name = "Badges"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from badges.conf import badges_enabled, check_badges_config, check_credly_webhook_secret
        from badges.database import check_database_timeouts
        from badges.encryption import check_encryption_keys, check_encryption_keys_deploy
        from badges.host import check_host_contract
        from badges.pacing import check_rate_limits
        from badges.providers.http import check_retry_policy

        checks.register(check_badges_config, checks.Tags.compatibility)
        checks.register(check_credly_webhook_secret, checks.Tags.security)
        checks.register(check_encryption_keys, checks.Tags.security)
        checks.register(check_encryption_keys_deploy, checks.Tags.security, deploy=True)
        checks.register(check_host_contract, checks.Tags.models)
        checks.register(check_retry_policy, checks.Tags.compatibility)
        checks.register(check_rate_limits, checks.Tags.compatibility)
        checks.register(check_database_timeouts, checks.Tags.database)
        if badges_enabled():
            from badges.receivers import connect_receivers
            from badges.signals import flush_event_bus_producer

            connect_receivers()
            atexit.register(flush_event_bus_producer)
