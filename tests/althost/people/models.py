"""The second host's user: a differently named model with the fields the contract asks for."""
from django.contrib.auth.models import AbstractUser
from django.db import models


class Person(AbstractUser):
    full_name = models.CharField(max_length=255, blank=True)
    lms_user_id = models.PositiveIntegerField(null=True, blank=True, unique=True)
