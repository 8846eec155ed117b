"""Fixtures for provider tests: fast in-call retries, provider URLs, mocked HTTP (``responses``)."""
from __future__ import annotations

import pytest
import responses

CREDLY_API = "https://api.credly.test/v1/"
ACCREDIBLE_API = "https://api.accredible.test/v1/"
FAST_RETRIES = {"attempts": 3, "backoff": 0.001, "max_backoff": 0.002, "max_retry_after": 2.0,
                "connect_timeout": 1.0, "read_timeout": 1.0}


@pytest.fixture(autouse=True)
def provider_settings(settings):
    settings.BADGES_PROVIDER_HTTP = FAST_RETRIES
    settings.BADGES_CONFIG = {
        "credly": {"CREDLY_API_BASE_URL": CREDLY_API},
        "accredible": {"ACCREDIBLE_API_BASE_URL": ACCREDIBLE_API},
    }
    return settings


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def credly_page(items: list[dict], page: int, total_pages: int) -> dict:
    return {
        "data": items,
        "metadata": {
            "count": len(items), "current_page": page, "total_count": 0, "total_pages": total_pages, "per": 50,
            "previous_page_url": None,
            "next_page_url": f"{CREDLY_API}next?page={page + 1}" if page < total_pages else None,
        },
    }


def credly_template(template_id: str, name: str = "Template", state: str = "active") -> dict:
    return {"id": template_id, "name": name, "description": f"{name} description", "state": state,
            "image_url": f"https://img.test/{template_id}.png", "owner": {"id": "org"}}


def accredible_page(groups: list[dict], page: int, total_pages: int) -> dict:
    return {"groups": groups, "meta": {"current_page": page, "next_page": page + 1 if page < total_pages else None,
                                       "prev_page": None, "total_pages": total_pages, "total_count": 0}}
