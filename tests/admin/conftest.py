"""Admin test helpers: read a change page's forms back into POST data, as a browser would submit them."""
from __future__ import annotations

from typing import Any

import pytest
from django.forms import CheckboxInput
from django.urls import reverse

from badges.models import BadgeTemplate


def _form_data(form: Any) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for field in form:
        value = field.value()
        if isinstance(field.field.widget, CheckboxInput):
            if value:
                data[field.html_name] = "on"
        elif isinstance(value, list | tuple):
            data[field.html_name] = [str(item) for item in value]
        elif value is not None:
            data[field.html_name] = str(value)
    return data


def change_form_data(response: Any) -> dict[str, Any]:
    """The POST data of an unchanged submit of the admin change/add page in ``response``."""
    data = _form_data(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        data.update(_form_data(inline.formset.management_form))
        for form in inline.formset.forms:
            data.update(_form_data(form))
    return data


def admin_url(obj_or_model: Any, view: str = "change") -> str:
    meta = obj_or_model._meta
    args = [obj_or_model.pk] if view in {"change", "delete"} else []
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=args)


@pytest.fixture
def edit_page(staff_client):
    """``edit_page(obj_or_model, view)`` -> (url, POST data of the page as rendered)."""

    def load(obj_or_model: Any, view: str = "change") -> tuple[str, dict[str, Any]]:
        url = admin_url(obj_or_model, view)
        response = staff_client.get(url)
        assert response.status_code == 200
        return url, change_form_data(response)

    return load


def page_errors(response: Any) -> str:
    """Every error the admin shows on a re-rendered change page, as one string."""
    assert response.status_code == 200, f"expected the form back with errors, got {response.status_code}"
    messages = []
    for entry in response.context["errors"]:  # field error lists, and formset non-form errors as strings
        messages += [entry] if isinstance(entry, str) else list(entry)
    return " ".join(messages)


def reload(template: BadgeTemplate) -> BadgeTemplate:
    return type(template).objects.get(pk=template.pk)
