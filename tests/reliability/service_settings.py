"""Settings of the scenarios' service processes: the product's own, with provider timeouts short
enough that a provider which never answers costs a second, not twenty, and openedx-events' line
per dispatched event logged (the racing-consumers scenario counts each consumer's deliveries by it;
the demo host keeps that logger at WARNING)."""
from credentials_project.settings import *  # noqa: F403

LOGGING["loggers"]["openedx_events.tooling"] = {"level": "INFO"}  # noqa: F405

BADGES_PROVIDER_HTTP = {"connect_timeout": 2.0, "read_timeout": 1.0, "backoff": 0.05, "max_backoff": 0.2,
                        "max_retry_after": 1.0}

# The scenarios' fake provider has no rate limit (its chaos 429s are injected faults, one per
# call, not a limit): unpaced, so worker deliveries count retries and re-queues only. Pacing is
# covered by tests/engine/test_pacing.py and measured by benchmarks/grade_release.py.
BADGES_PROVIDER_RATE_LIMITS = {}
