"""Settings of the scenarios' service processes: the product's own, with provider timeouts short
enough that a provider which never answers costs a second, not twenty."""
from credentials_project.settings import *  # noqa: F403

BADGES_PROVIDER_HTTP = {"connect_timeout": 2.0, "read_timeout": 1.0, "backoff": 0.05, "max_backoff": 0.2,
                        "max_retry_after": 1.0}
