from django.apps import AppConfig


class CredentialsConfig(AppConfig):
    name = "credentials_project.credentials"
    label = "credentials"
    verbose_name = "Credentials"
