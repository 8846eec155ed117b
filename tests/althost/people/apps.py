from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "tests.althost.people"
    label = "people"
