from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "tests.althost.records"
    label = "records"
