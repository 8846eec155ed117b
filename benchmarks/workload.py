"""The processing workload: a rulebook of T templates and a stream of grade events.

Needs a configured Django (``django.setup()`` done). Used by ``benchmarks/processing.py`` and by
the query-count regression guard in ``tests/performance``, so both measure the same thing.

Events go through the public path the event bus uses:
``COURSE_PASSING_STATUS_UPDATED.send_event(...)``, which runs whatever receivers badges connected.
Provider calls are answered in-process by ``responses`` registered on the Credly API URLs.
"""
from __future__ import annotations

import json
import random
import re
import statistics
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import responses
from django.contrib.sites.models import Site
from django.db import connection, transaction
from opaque_keys.edx.keys import CourseKey
from openedx_events.learning.data import CourseData, CoursePassingStatusData, UserData, UserPersonalData
from openedx_events.learning.signals import COURSE_PASSING_STATUS_UPDATED

from badges.conf import COURSE_PASSING_STATUS_UPDATED as EVENT_TYPE
from badges.conf import provider_urls
from badges.models import (
    BadgePenalty,
    BadgeRequirement,
    BadgeTemplate,
    CredlyBadgeTemplate,
    CredlyOrganization,
    DataRule,
    Origin,
    PenaltyDataRule,
    RulebookVersion,
)
from badges.rulebook import one_configuration_check

LEARNERS = 200
MATCHING_SHARE = 0.20
FAILING_SHARE_OF_MATCHING = 0.05
SEED = 20240607
UNUSED_COURSES = 500
ORGANIZATION_UUID = uuid.UUID("0b5e6c2e-5d1f-4c1b-9a55-6a3f1c0c7e01")


def requirement_course_keys(template_index: int) -> tuple[str, str]:
    """The two course keys (one per group) of the template numbered ``template_index``."""
    return (f"course-v1:BenchX+T{template_index}A+2025", f"course-v1:BenchX+T{template_index}B+2025")


def unused_course_key(number: int) -> str:
    """A course key no template mentions."""
    return f"course-v1:BenchX+Unused{number}+2025"


@dataclass(frozen=True)
class Rulebook:
    organization: CredlyOrganization
    template_ids: list[int]
    course_keys: list[str]


def benchmark_organization() -> CredlyOrganization:
    organization, _ = CredlyOrganization.objects.get_or_create(
        uuid=ORGANIZATION_UUID, defaults={"api_key": "bench-credly-token", "name": "Bench organization"}
    )
    return organization


@transaction.atomic
def build_rulebook(templates: int, *, first_index: int = 0) -> Rulebook:
    """Create ``templates`` active Credly templates, each with 2 groups of 1 requirement and 1 penalty.

    Requirement A needs ``course.course_key eq <key A>``, requirement B ``course.course_key eq
    <key B>``; the penalty (``course.course_key eq <key A>`` and ``is_passing eq false``) takes
    both back. Everything is bulk-inserted, so the version counter is bumped explicitly.
    """
    organization = benchmark_organization()
    site = Site.objects.get_current()
    indexes = range(first_index, first_index + templates)
    parents = BadgeTemplate.objects.bulk_create(
        BadgeTemplate(
            site=site,
            uuid=uuid.uuid5(ORGANIZATION_UUID, f"template-{index}"),
            name=f"Bench template {index}",
            origin=Origin.CREDLY,
            state=BadgeTemplate.State.ACTIVE,
            is_active=True,
        )
        for index in indexes
    )
    _insert_credly_template_rows([parent.pk for parent in parents], organization.pk)

    requirements = BadgeRequirement.objects.bulk_create(
        BadgeRequirement(template_id=parent.pk, event_type=EVENT_TYPE, group=group)
        for parent in parents
        for group in ("A", "B")
    )
    course_keys = [key for index in indexes for key in requirement_course_keys(index)]
    DataRule.objects.bulk_create(
        DataRule(requirement=requirement, data_path="course.course_key", operator="eq", value=key)
        for requirement, key in zip(requirements, course_keys, strict=True)
    )
    penalties = BadgePenalty.objects.bulk_create(BadgePenalty(template_id=parent.pk, event_type=EVENT_TYPE)
                                                 for parent in parents)
    PenaltyDataRule.objects.bulk_create(
        PenaltyDataRule(penalty=penalty, data_path=data_path, operator="eq", value=value)
        for penalty, key_a in zip(penalties, course_keys[::2], strict=True)
        for data_path, value in (("course.course_key", key_a), ("is_passing", "false"))
    )
    links = BadgePenalty.requirements.through
    links.objects.bulk_create(
        links(badgepenalty_id=penalty.pk, badgerequirement_id=requirement.pk)
        for index, penalty in enumerate(penalties)
        for requirement in requirements[2 * index:2 * index + 2]
    )
    RulebookVersion.bump()
    return Rulebook(organization, [parent.pk for parent in parents], course_keys)


def _insert_credly_template_rows(template_ids: Sequence[int], organization_id: int) -> None:
    """Add the Credly subclass rows; Django's bulk_create refuses multi-table inherited models."""
    meta = CredlyBadgeTemplate._meta
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({quote(meta.pk.column)}, "  # noqa: S608 - identifiers from model meta
        f"{quote(meta.get_field('organization').column)}) VALUES (%s, %s)"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, [(template_id, organization_id) for template_id in template_ids])


@dataclass(frozen=True)
class BenchEvent:
    """One grade event of the workload; ``matching`` says whether some template uses its course."""

    learner: int
    course_key: str
    is_passing: bool
    matching: bool

    def payload(self) -> CoursePassingStatusData:
        return CoursePassingStatusData(
            is_passing=self.is_passing,
            course=CourseData(course_key=CourseKey.from_string(self.course_key), display_name="Bench course"),
            user=learner_data(self.learner),
        )


def learner_data(learner: int) -> UserData:
    return UserData(
        id=100_000 + learner,
        is_active=True,
        pii=UserPersonalData(
            username=f"bench-learner-{learner}",
            email=f"bench-learner-{learner}@example.com",
            name=f"Bench Learner {learner}",
        ),
    )


def generate_events(course_keys: Sequence[str], events: int, *, learners: int = LEARNERS,
                    seed: int = SEED) -> list[BenchEvent]:
    """The issue-7 stream: exactly 20% of events on a template's course, 5% of those failing."""
    rng = random.Random(seed)
    matching_positions = set(rng.sample(range(events), round(events * MATCHING_SHARE)))
    failing_positions = set(rng.sample(sorted(matching_positions),
                                       round(len(matching_positions) * FAILING_SHARE_OF_MATCHING)))
    stream = []
    for position in range(events):
        learner = rng.randrange(learners)
        if position in matching_positions:
            stream.append(BenchEvent(learner, rng.choice(course_keys), position not in failing_positions, True))
        else:
            stream.append(BenchEvent(learner, unused_course_key(rng.randrange(UNUSED_COURSES)),
                                     rng.random() < 0.5, False))
    return stream


def generate_steady_events(templates: int, events: int, *, learners: int = LEARNERS,
                           seed: int = SEED) -> list[BenchEvent]:
    """The steady-state stream: like :func:`generate_events`, but each learner follows one template
    (spread over all T), so matching events come back to the same learners' progress and about 10%
    of them complete a badge when the stream is played twice, at any T."""
    rng = random.Random(seed)
    stride = 7919  # a prime: learners' templates spread over all T
    stream = []
    for event in generate_events([requirement_course_keys(0)[0]], events, learners=learners, seed=seed):
        if event.matching:
            template = (event.learner * stride) % templates
            event = BenchEvent(event.learner, requirement_course_keys(template)[rng.randrange(2)],
                               event.is_passing, True)
        stream.append(event)
    return stream


def warmup_event() -> BenchEvent:
    """A non-matching event of a learner outside the workload: loads per-process caches, writes nothing."""
    return BenchEvent(learner=LEARNERS + 1, course_key=unused_course_key(UNUSED_COURSES), is_passing=True,
                      matching=False)


def send_event(payload: CoursePassingStatusData) -> int:
    """Send like the bus consumer does; return how many receivers raised (send_robust swallows it)."""
    results = COURSE_PASSING_STATUS_UPDATED.send_event(course_passing_status=payload)
    return sum(1 for _receiver, result in results if isinstance(result, Exception))


class QueryCounter:
    """``connection.execute_wrapper`` callable that counts (and keeps) the SQL of the current event."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, execute, sql, params, many, context):
        self.statements.append(sql)
        return execute(sql, params, many, context)

    def take(self) -> list[str]:
        statements, self.statements = self.statements, []
        return statements


@dataclass
class ProviderCalls:
    issued: int = 0
    revoked: int = 0
    other: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.issued + self.revoked + len(self.other)


ISSUE_PATH = re.compile(r"organizations/[^/]+/badges/?$")
REVOKE_PATH = re.compile(r"organizations/[^/]+/badges/(?P<badge>[^/]+)/revoke/?$")


@contextmanager
def credly_answered_in_process() -> Iterator[ProviderCalls]:
    """Answer Credly issue/revoke calls like Credly does, without sockets; count every call.

    One callback per method dispatches on the path: ``responses`` consumes the first of several
    overlapping registrations, so they must not overlap.
    """
    api = provider_urls("credly")["api"]
    calls = ProviderCalls()

    def answer(request) -> tuple[int, dict[str, str], str]:
        path = request.path_url.split("?")[0][len(urlsplit(api).path):]
        if request.method == "POST" and ISSUE_PATH.match(path):
            calls.issued += 1
            body = json.loads(request.body or b"{}")
            data = {"id": str(uuid.uuid4()), "state": "pending",
                    "badge_template": {"id": body.get("badge_template_id")},
                    "recipient_email": body.get("recipient_email")}
            return 201, {"Content-Type": "application/json"}, json.dumps({"data": data})
        revoke = REVOKE_PATH.match(path)
        if request.method == "PUT" and revoke:
            calls.revoked += 1
            data = {"id": revoke["badge"], "state": "revoked"}
            return 200, {"Content-Type": "application/json"}, json.dumps({"data": data})
        calls.other.append(f"{request.method} {request.url}")
        return 404, {"Content-Type": "application/json"}, json.dumps({"message": "not part of the benchmark"})

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for method in (responses.GET, responses.POST, responses.PUT, responses.PATCH, responses.DELETE):
            mock.add_callback(method, re.compile(re.escape(api) + ".*"), callback=answer)
        yield calls


@dataclass
class EventCost:
    matching: bool
    queries: int
    seconds: float
    receiver_errors: int
    provider_calls: int = 0


@dataclass
class MeasuredEvent:
    """One event sent on its own: its cost, its SQL and the provider calls it caused."""

    cost: EventCost
    statements: list[str]
    provider_calls: ProviderCalls


@dataclass
class Measurement:
    """Per-event costs of one run, plus its wall-clock span (``time.time()`` for cross-process sums) and the
    CPU time the process spent on it (``time.process_time()``: steadier than wall time on a shared machine)."""

    costs: list[EventCost]
    started: float
    finished: float
    provider_calls: ProviderCalls
    examples: dict[str, list[str]]
    cpu_seconds: float  # of this process: unlike wall time, barely moved by other load on the machine

    def summary(self) -> dict[str, Any]:
        return summarize(self.costs, self.finished - self.started, self.provider_calls.total, self.cpu_seconds)


def process_events(events: Sequence[BenchEvent], batch_size: int = 1) -> Measurement:
    """Send every event in order, timing it and counting its SQL queries (issuing included).

    Every ``batch_size`` events share one configuration check, as the messages of a bus consumer's
    batch do (:func:`badges.rulebook.one_configuration_check`); with 1, each event checks.
    """
    payloads = [event.payload() for event in events]
    costs = []
    examples: dict[str, list[str]] = {}
    counter = QueryCounter()
    batch = ExitStack()
    with credly_answered_in_process() as calls, connection.execute_wrapper(counter), batch:
        started, cpu_started = time.time(), time.process_time()
        for position, (event, payload) in enumerate(zip(events, payloads, strict=True)):
            if position % batch_size == 0:
                batch.close()
                batch.enter_context(one_configuration_check())
            calls_before = calls.total
            begin = time.perf_counter()
            errors = send_event(payload)
            elapsed = time.perf_counter() - begin
            statements = counter.take()
            examples.setdefault("matching" if event.matching else "non-matching", statements)
            if event.matching and len(statements) > len(examples.get("most expensive", ())):
                examples["most expensive"] = statements
            costs.append(EventCost(event.matching, len(statements), elapsed, errors, calls.total - calls_before))
        finished, cpu_seconds = time.time(), time.process_time() - cpu_started
    return Measurement(costs, started, finished, calls, examples, cpu_seconds)


def measure_one(event: BenchEvent) -> MeasuredEvent:
    """Send one event on its own (the warm-up, the regression guard), with its costs and SQL."""
    counter = QueryCounter()
    with credly_answered_in_process() as calls, connection.execute_wrapper(counter):
        begin = time.perf_counter()
        errors = send_event(event.payload())
        elapsed = time.perf_counter() - begin
    statements = counter.take()
    return MeasuredEvent(EventCost(event.matching, len(statements), elapsed, errors, calls.total), statements, calls)


def _mean(values: Sequence[float]) -> float | None:
    return round(statistics.fmean(values), 3) if values else None


def summarize(costs: Sequence[EventCost], wall_seconds: float, provider_calls: int,
              cpu_seconds: float | None = None) -> dict[str, Any]:
    """The benchmark's figures, from per-event costs (possibly gathered by several processes).

    ``cpu_seconds``: the consumer processes' own CPU time, summed (not the database server's).
    """
    matching = [cost.queries for cost in costs if cost.matching]
    non_matching = [cost.queries for cost in costs if not cost.matching]
    with_provider_call = [cost.queries for cost in costs if cost.provider_calls]
    latencies = sorted(cost.seconds * 1000 for cost in costs)
    percentiles = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else latencies * 99
    return {
        "events": len(costs),
        "matching_events": len(matching),
        "wall_s": round(wall_seconds, 3),
        "events_per_s": round(len(costs) / wall_seconds, 1) if wall_seconds > 0 else None,
        "cpu_s": round(cpu_seconds, 3) if cpu_seconds is not None else None,
        "events_per_cpu_s": round(len(costs) / cpu_seconds, 1) if cpu_seconds else None,
        "queries_per_event": _mean([cost.queries for cost in costs]),
        "queries_matching": _mean(matching),
        "queries_matching_max": max(matching, default=None),
        "queries_non_matching": _mean(non_matching),
        "queries_non_matching_max": max(non_matching, default=None),
        "queries_with_provider_call": _mean(with_provider_call),
        "queries_with_provider_call_max": max(with_provider_call, default=None),
        "latency_p50_ms": round(percentiles[49], 3) if percentiles else None,
        "latency_p95_ms": round(percentiles[94], 3) if percentiles else None,
        "latency_matching_mean_ms": _mean([cost.seconds * 1000 for cost in costs if cost.matching]),
        "latency_non_matching_mean_ms": _mean([cost.seconds * 1000 for cost in costs if not cost.matching]),
        "provider_calls": provider_calls,
        "receiver_errors": sum(cost.receiver_errors for cost in costs),
    }
