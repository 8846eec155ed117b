from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from credentials_project.core.models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        ("LMS", {"fields": ("full_name", "lms_user_id")}),
    )
    list_display = ("username", "email", "full_name", "lms_user_id", "is_staff")
    search_fields = ("username", "email", "full_name")
