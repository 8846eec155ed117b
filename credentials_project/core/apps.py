from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "credentials_project.core"
    label = "core"
    verbose_name = "Core"
