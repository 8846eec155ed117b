"""The HTTP layer both provider clients share: one session, timeouts, short retries, typed errors.

Retries here are few and short (a few seconds in all) so an admin request or a worker is never
held for long; retrying over hours is the Celery task's job, which reads
:attr:`TransientProviderError.retry_after`. A ``Retry-After`` longer than the in-call cap is not
slept on: the error is raised at once, carrying the provider's wish.

A POST (issuing a badge) is repeated in-call only when it certainly was not processed: the
connection was never made. Any answer, even a 429 or 503 that should mean "not processed", can
come from a gateway or an overloaded provider after the work was done; after it, a read timeout
or a dropped connection it raises :class:`OutcomeUnknownError` at once, and the caller's next
attempt looks the badge up before issuing again.

API keys live only in the session's auth header. Log lines and exception texts are built from
the method, the path, the status and the provider's error text, and every such text goes
through :meth:`ProviderHttpClient.redact` in case a provider echoes the key back.
"""
from __future__ import annotations

import dataclasses
import email.utils
import logging
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import requests
from django.core import checks
from urllib3.exceptions import NameResolutionError, NewConnectionError

from badges.conf import badges_settings
from badges.providers.base import (
    OutcomeUnknownError,
    PermanentProviderError,
    TransientProviderError,
)

logger = logging.getLogger(__name__)

ERROR_TEXT_LIMIT = 500
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


@dataclass(frozen=True)
class RetryPolicy:
    """How one call behaves: timeouts, how many tries, how long to wait between them."""

    attempts: int = 3
    backoff: float = 0.3
    max_backoff: float = 2.0
    max_retry_after: float = 3.0
    connect_timeout: float = 5.0
    read_timeout: float = 20.0

    @classmethod
    def from_settings(cls) -> RetryPolicy:
        """Defaults, overridden by the optional ``BADGES_PROVIDER_HTTP`` setting (a dict of these fields)."""
        return cls(**badges_settings.PROVIDER_HTTP)

    def delay(self, attempt: int) -> float:
        """Exponential backoff with jitter before try ``attempt + 1`` (``attempt`` counts from 1)."""
        ceiling = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


def check_retry_policy(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """System check: ``BADGES_PROVIDER_HTTP`` names only :class:`RetryPolicy` fields, each a number >= 0."""
    overrides = badges_settings.PROVIDER_HTTP
    if not isinstance(overrides, dict):
        return []  # badges.conf's check reports it
    known = {field.name for field in dataclasses.fields(RetryPolicy)}
    problems = [f"unknown key {key!r} (expected one of {sorted(known)})" for key in overrides if key not in known]
    problems += [f"[{key!r}] must be a number >= 0, got {value!r}" for key, value in overrides.items()
                 if isinstance(value, bool) or not isinstance(value, int | float) or value < 0]
    return [checks.Error(f"BADGES_PROVIDER_HTTP: {problem}.", id="badges.E010") for problem in problems]


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _never_connected(error: requests.ConnectionError) -> bool:
    """Whether the connection was refused or unresolvable, so the request never left."""
    reason = getattr(error.args[0], "reason", None) if error.args else None
    return isinstance(reason, NewConnectionError | NameResolutionError)


def provider_error_text(response: requests.Response) -> str:
    """The provider's own words about a failure: its JSON error fields, else the body's start."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:ERROR_TEXT_LIMIT].strip()
    if isinstance(body, dict):
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        for candidate in (body.get("errors"), data.get("message"), data.get("errors"), body.get("message"),
                          body.get("error")):
            if candidate:
                return _flatten(candidate)[:ERROR_TEXT_LIMIT]
    return str(body)[:ERROR_TEXT_LIMIT]


def _flatten(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{key}: {_flatten(item)}" for key, item in value.items())
    if isinstance(value, list):
        return ", ".join(_flatten(item) for item in value)
    return str(value)


class ProviderHttpClient:
    """A ``requests`` session bound to one provider account's base URL and credentials.

    ``auth_header`` is the full ``Authorization`` header value; ``secrets`` are strings that must
    never leave this object (the API key, and anything derived from it).
    """

    def __init__(
        self,
        *,
        provider: str,
        base_url: str,
        auth_header: str,
        secrets: Iterable[str],
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.provider = provider
        self.base_url = base_url if base_url.endswith("/") else f"{base_url}/"
        self.policy = policy or RetryPolicy.from_settings()
        self._secrets = tuple(secret for secret in secrets if secret)
        self.sleep = sleep
        self.session = requests.Session()
        self.session.headers.update(
            {"Authorization": auth_header, "Accept": "application/json", "User-Agent": "openedx-badges-service"}
        )

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return text

    def get(self, path: str, *, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.request("GET", path, params=params)

    def post(self, path: str, *, json: dict[str, Any]) -> dict[str, Any]:
        return self.request("POST", path, json=json)

    def put(self, path: str, *, json: dict[str, Any]) -> dict[str, Any]:
        return self.request("PUT", path, json=json)

    def request(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, json: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Send one call, retrying transient failures within the policy; return the JSON body."""
        url = urljoin(self.base_url, path.lstrip("/"))
        attempt = 1
        while True:
            try:
                return self._send_once(method, url, path, params, json)
            except TransientProviderError as error:
                wait = self._wait_before_retry(error, attempt)
                if wait is None:
                    logger.warning("%s (attempt %d, giving up in this call)", error, attempt)
                    raise
                logger.info("%s; retry %d/%d in %.2fs", error, attempt, self.policy.attempts - 1, wait)
                self.sleep(wait)
                attempt += 1

    def _wait_before_retry(self, error: TransientProviderError, attempt: int) -> float | None:
        if attempt >= self.policy.attempts or isinstance(error, OutcomeUnknownError):
            return None
        if error.retry_after is not None:
            if error.retry_after > self.policy.max_retry_after:
                return None
            return error.retry_after
        return self.policy.delay(attempt)

    @staticmethod
    def _unsent_or_unknown(method: str) -> type[TransientProviderError]:
        """After a failure that may follow processing, only an idempotent call is safe to repeat."""
        return TransientProviderError if method in IDEMPOTENT_METHODS else OutcomeUnknownError

    def _send_once(
        self, method: str, url: str, path: str, params: dict[str, Any] | None, json: dict[str, Any] | None
    ) -> dict[str, Any]:
        what = f"{self.provider} {method} {path}"
        try:
            response = self.session.request(
                method, url, params=params, json=json,
                timeout=(self.policy.connect_timeout, self.policy.read_timeout),
            )
        except requests.ConnectTimeout as error:
            raise TransientProviderError(f"{what} could not connect", detail=type(error).__name__) from None
        except requests.Timeout as error:
            raise self._unsent_or_unknown(method)(f"{what} timed out", detail=type(error).__name__) from None
        except requests.ConnectionError as error:
            if _never_connected(error):
                raise TransientProviderError(f"{what} could not connect", detail=type(error).__name__) from None
            raise self._unsent_or_unknown(method)(
                f"{what} lost its connection", detail=type(error).__name__
            ) from None
        except requests.RequestException as error:
            raise PermanentProviderError(f"{what} could not be sent", detail=type(error).__name__) from None
        except UnicodeEncodeError:
            # The error's own text and ``object`` hold the header line, key included: none of it is kept.
            raise PermanentProviderError(
                f"{what} could not be sent", detail="the API key holds a character an HTTP header cannot carry"
            ) from None
        status = response.status_code
        if status < 300:
            try:
                body = response.json() if response.content else {}
            except ValueError:
                raise PermanentProviderError(f"{what} answered with non-JSON", status=status) from None
            return body if isinstance(body, dict) else {"data": body}
        detail = self.redact(provider_error_text(response))
        if status == 429 or status >= 500:
            raise self._unsent_or_unknown(method)(
                f"{what} refused for now", status=status, detail=detail,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        raise PermanentProviderError(f"{what} was rejected", status=status, detail=detail)
