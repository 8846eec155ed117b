"""The published schema and docs match the code, and the documented examples have the real responses' shape."""
from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

from badges.api import badges as badges_resource
from badges.api import progress as progress_resource

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def shape(value):
    """Keys all the way down (lists by their first item), without the values."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return None


def test_checked_in_schema_and_reference_are_up_to_date():
    result = subprocess.run([sys.executable, "scripts/api_docs.py", "--check"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)

    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_is_served_and_lists_every_resource(api_as):
    response = api_as("ann").get("/api/badges/v1/schema/")

    schema = yaml.safe_load(response.content)
    assert set(schema["paths"]) == {"/api/badges/v1/progress/", "/api/badges/v1/badges/",
                                   "/api/badges/v1/retirement/"}
    assert "lmsJwt" in schema["components"]["securitySchemes"]


def test_progress_example_has_the_shape_of_a_real_response(api_as, make_credly_template, add_requirement):
    template = make_credly_template()
    add_requirement(template, group="A")
    template.is_active = True
    template.save()

    real = api_as("ann").get("/api/badges/v1/progress/").json()

    assert shape(real["results"][0]) == shape(progress_resource.EXAMPLE["results"][0])
    assert set(real) == set(progress_resource.EXAMPLE)


def test_badges_example_has_the_shape_of_a_real_response(api_as, make_credly_template, make_badge):
    make_badge(make_credly_template(), "ann", external_uuid=uuid.uuid4())

    real = api_as("ann").get("/api/badges/v1/badges/").json()

    assert shape(real["results"][0]) == shape(badges_resource.EXAMPLE["results"][0])
    assert set(real) == set(badges_resource.EXAMPLE)
