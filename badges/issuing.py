"""Badge records and their provider: the one place their status and provider state change.

The database row is the truth. :func:`sync_with_provider` compares a badge record with what the
provider should hold and makes the calls that close the gap (issue, or revoke/expire), under a
row lock so concurrent tasks for one badge run one after the other. Each attempt is counted and
committed before its call, so a crash during the call cannot hide that the provider may have
carried it out: every later attempt looks the badge up before issuing. A record that has an
external id is never issued again. Every change of status, state, external id or provider error
goes through :func:`change_badge`; the engine, the tasks, the sweep, the admin actions and the
webhooks all use it, so they cannot disagree.
"""
from __future__ import annotations

import datetime
import enum
import functools
import logging
from dataclasses import dataclass
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import connections, router, transaction
from django.db.models import Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from openedx_events.learning.data import BadgeData, BadgeTemplateData, UserData, UserPersonalData

from badges import host, pacing, sql
from badges.conf import badges_settings
from badges.models import BadgeState, BadgeTemplate, ProviderBadge
from badges.providers.base import (
    DuplicateBadgeError,
    PermanentProviderError,
    Recipient,
    RemoteBadge,
    TransientProviderError,
)
from badges.providers.registry import PROVIDERS, provider_for_template, template_external_id

logger = logging.getLogger(__name__)

AnyBadge = ProviderBadge
REVOKE_REASON = "A penalty rule took back a requirement of this badge."
MAX_RETRY_DELAY = 3600


@dataclass(frozen=True)
class BadgeKind:
    """How one provider's badge records are stored: model, template model, external id, final states."""

    origin: str
    badge_model: type[AnyBadge]
    template_model: type[BadgeTemplate]
    external_id_field: str
    revoked_state: str
    account_field: str

    def template_content_type_id(self) -> int:
        """Cached by Django's ContentType manager after the first call of the process."""
        return ContentType.objects.get_for_model(self.template_model).id

    def external_id(self, badge: AnyBadge) -> str | None:
        value = getattr(badge, self.external_id_field)
        return None if value is None else str(value)


KINDS: dict[str, BadgeKind] = {
    origin: BadgeKind(origin, entry.badge_model, entry.template_model, entry.badge_external_id_field,
                      entry.revoked_state, entry.account_field)
    for origin, entry in PROVIDERS.items()
}

#: States in which the provider has not (yet) confirmed what the record says.
WAITING_STATES = (BadgeState.CREATED, BadgeState.NO_RESPONSE)
#: Provider states of a badge that no longer counts (revoked, rejected by the learner, expired): such
#: a badge found at the provider is never adopted as the one being issued.
ENDED_STATES = frozenset({BadgeState.REVOKED, BadgeState.REJECTED, BadgeState.EXPIRED})


def kind_of(badge: AnyBadge) -> BadgeKind:
    return next(kind for kind in KINDS.values() if isinstance(badge, kind.badge_model))


def retry_horizon() -> datetime.timedelta:
    return datetime.timedelta(hours=badges_settings.ISSUE_RETRY_HOURS)


def sweep_grace() -> datetime.timedelta:
    """How long the sweep leaves fresh work (events, badges, webhook events) to its own task."""
    return datetime.timedelta(seconds=badges_settings.SWEEP_GRACE_SECONDS)


def retry_delay(attempts: int, retry_after: float | None = None) -> float:
    """Seconds before the next provider attempt: doubling from a minute up to an hour (or Retry-After)."""
    first = badges_settings.ISSUE_RETRY_FIRST_DELAY_SECONDS
    delay = min(first * 2 ** max(attempts - 1, 0), MAX_RETRY_DELAY)
    return max(delay, retry_after or 0)


def change_badge(badge: AnyBadge, *, status: str | None = None, state: str | None = None,
                 external_id: str | None = None, provider_error: str | None = None,
                 attempted: bool = False, attempt_ended: bool = False, retry_at: datetime.datetime | None = None,
                 clear_external_id: bool = False, replaced_external_id: str | None = None,
                 start_sync: bool = False, reset_attempts: bool = False,
                 deferred_until: datetime.datetime | None = None) -> None:
    """Apply and save a change of a badge record, writing only the columns that changed.

    ``start_sync`` begins a new issue/revoke cycle (revoke, operator retry, re-award): the retry
    horizon counts from now and no attempt is scheduled. ``reset_attempts`` also forgets the
    attempts of earlier cycles (re-award: the new badge is issued, not looked up).
    ``attempted`` counts a provider attempt that starts now, and ``retry_at`` is when the next one
    is due should this one never report; ``attempt_ended`` records that it reported, and
    ``retry_at`` is then when the next one is due (None: none scheduled).
    ``replaced_external_id`` is the earlier badge a re-award revokes first ("" once done).
    ``deferred_until`` is when a task waiting for its account's pacing slot will run (no attempt
    is counted), so the sweep leaves the record to that task until then.
    Provider-side fields live in the provider's table, ``status`` in the
    shared credential table, so a provider-side change is one UPDATE, a prepared statement (no
    ``save()``: it runs twice per provider call); a change of status goes through ``save()``.
    """
    kind = kind_of(badge)
    changed: list[str] = []
    now = timezone.now()

    def put(name: str, value: Any) -> None:
        if getattr(badge, name) != value:
            setattr(badge, name, value)
            changed.append(name)

    if status is not None:
        put("status", status)
    if state is not None:
        put("state", state)
    if external_id is not None:
        put(kind.external_id_field, kind.badge_model._meta.get_field(kind.external_id_field).to_python(external_id))
    if clear_external_id:
        put(kind.external_id_field, None)
    if replaced_external_id is not None:
        put("replaced_external_id", replaced_external_id)
    if provider_error is not None:
        put("provider_error", provider_error)
    if start_sync:
        put("sync_started_at", now)
        put("next_attempt_at", None)
    if reset_attempts:
        put("issue_attempts", 0)
        put("last_attempt_at", None)
    if attempted:
        put("issue_attempts", badge.issue_attempts + 1)
        put("last_attempt_at", now)
    if attempted or attempt_ended:
        put("next_attempt_at", retry_at)
    if deferred_until is not None:
        put("next_attempt_at", deferred_until)
    if "status" in changed:
        changed.append("modified")
        badge.save(update_fields=changed)
    elif changed:
        sql.update_fields(badge, changed)  # the provider's table alone: a prepared statement


class Action(enum.Enum):
    NONE = "none"
    ISSUE = "issue"
    REVOKE = "revoke"
    REVOKE_REPLACED = "revoke_replaced"  # re-awarded: the earlier badge is revoked before the new one is issued
    FORGET = "forget"  # revoked, and nothing was ever issued at the provider: nothing to undo there


def next_action(badge: AnyBadge) -> Action:
    """What the provider still needs for this record (``error`` waits for an operator).

    A revoked record without an external id but with issue attempts is revoked too: an attempt
    whose answer was lost may have issued it, so the revoke looks it up first. A re-awarded
    record whose earlier badge may still be live revokes that one before issuing.
    """
    kind = kind_of(badge)
    issued = kind.external_id(badge) is not None
    awarded = badge.status == host.AWARDED
    if awarded and (issued or badge.state not in WAITING_STATES):
        return Action.NONE
    if not awarded and badge.state in (kind.revoked_state, BadgeState.ERROR):
        return Action.NONE
    if badge.replaced_external_id:
        return Action.REVOKE_REPLACED
    if awarded:
        return Action.ISSUE
    return Action.REVOKE if issued or badge.issue_attempts else Action.FORGET


@dataclass(frozen=True)
class SyncResult:
    action: Action
    retry_in: float | None = None  # seconds, set after a transient failure within the retry horizon
    slot_at: float | None = None  # set when waiting for the account's pacing slot (retry_in is the wait)


RECIPIENT_FIELDS = ("email", "first_name", "last_name", "full_name", "lms_user_id")


def _locked_badge(kind: BadgeKind, badge_uuid: str) -> AnyBadge | None:
    """The badge row, locked until commit, with its learner's fields and its provider account read in
    the same query (``paced_account_id``: None when the provider's calls are not paced).

    Plain SQL prepared once per provider (:func:`_locked_badge_sql`): every issue runs it twice, and
    building it with the ORM cost several times more than running it.
    """
    connection = connections[router.db_for_write(kind.badge_model)]
    uuid = kind.badge_model._meta.get_field("uuid").get_db_prep_value(badge_uuid, connection)
    with connection.cursor() as cursor:
        cursor.execute(_locked_badge_sql(connection.alias, kind.origin), [uuid])
        row = cursor.fetchone()
    if row is None:
        return None
    *row, account_id = row
    badge = sql.instance_from_row(connection, kind.badge_model, row)
    for name, value in zip(RECIPIENT_FIELDS, row[-len(RECIPIENT_FIELDS):], strict=True):
        setattr(badge, f"recipient_{name}", value)
    badge.paced_account_id = account_id if pacing.rate_for(kind.origin) is not None else None
    return badge


@functools.lru_cache(maxsize=8)
def _locked_badge_sql(alias: str, origin: str) -> str:
    """The badge of ``origin`` with the given uuid, then each of :data:`RECIPIENT_FIELDS` of its user
    record, then its template's provider account id."""
    connection = connections[alias]
    kind = KINDS[origin]
    model, user = kind.badge_model, host.user_model()
    username = sql.qualified_column(connection, model, "username")
    recipient = [
        f"(SELECT u.{sql.column(connection, user, name)} FROM {sql.table(connection, user)} u "  # noqa: S608
        f"WHERE u.{sql.column(connection, user, 'username')} = {username} LIMIT 1)"
        for name in RECIPIENT_FIELDS
    ]
    template = kind.template_model
    account_column = sql.column(connection, template, kind.account_field)
    account = (f"(SELECT t.{account_column} FROM {sql.table(connection, template)} t "  # noqa: S608
               f"WHERE t.{sql.column(connection, template, template._meta.pk.name)} = "
               f"{sql.qualified_column(connection, model, 'credential_id')})")
    where = f"{sql.qualified_column(connection, model, 'uuid')} = %s"
    return sql.select_sql(connection, model, where, [*recipient, account], lock=True)


def _template_with_account(kind: BadgeKind, template_id: int) -> BadgeTemplate:
    """The badge's template with its provider account (Credly organization...), read by one prepared query."""
    connection = connections[router.db_for_read(kind.template_model)]
    account = _account_field(kind)
    with connection.cursor() as cursor:
        cursor.execute(_template_sql(connection.alias, kind.origin), [template_id])
        row = cursor.fetchone()
    if row is None:
        raise kind.template_model.DoesNotExist(f"{kind.origin} template {template_id} does not exist.")
    return sql.instance_from_row(connection, kind.template_model, row, related=[account])


def _account_field(kind: BadgeKind) -> str:
    """The name of the template's foreign key to its provider account."""
    return kind.template_model._meta.get_field(kind.account_field).name


@functools.lru_cache(maxsize=8)
def _template_sql(alias: str, origin: str) -> str:
    connection = connections[alias]
    model = KINDS[origin].template_model
    where = f"{sql.qualified_column(connection, model, model._meta.pk.name)} = %s"
    return sql.select_sql(connection, model, where, related=[_account_field(KINDS[origin])])


def recipient_of(badge: AnyBadge) -> Recipient:
    """The learner as :func:`_locked_badge` read it (blank when no user record exists)."""
    values = {name: getattr(badge, f"recipient_{name}") for name in RECIPIENT_FIELDS}
    return Recipient(username=badge.username, **{
        name: value if value is not None or name == "lms_user_id" else "" for name, value in values.items()
    })


def sync_with_provider(origin: str, badge_uuid: str, held_slot: float | None = None) -> SyncResult:
    """Make the provider match the badge record: issue it, or revoke/expire it, at most once.

    One step after another until nothing is left or a step fails (a re-award first revokes the
    earlier badge, then issues); the result is the last step's. ``held_slot`` is the pacing slot
    an earlier run of the task reserved for its first step; each later step reserves its own.
    """
    result = _sync_step(KINDS[origin], badge_uuid, held_slot)
    while result.action is Action.REVOKE_REPLACED and result.retry_in is None:
        result = _sync_step(KINDS[origin], badge_uuid)
    return result


def expected_calls(kind: BadgeKind, badge: AnyBadge, action: Action) -> int:
    """Provider calls the step will make, so the pacing slot covers them: a lookup comes before
    an issue after an earlier attempt and before a revoke without an id."""
    if action is Action.REVOKE_REPLACED:
        return 1
    if action is Action.ISSUE:
        return 2 if badge.issue_attempts >= 1 else 1
    return 1 if kind.external_id(badge) is not None else 2


def _paced(kind: BadgeKind, badge: AnyBadge, action: Action, held_slot: float | None) -> SyncResult | None:
    """None when the call may start now; else the wait for the account's slot, recorded as the next attempt.

    A wait up to ``BADGES_PROVIDER_PACING_MAX_SLEEP_SECONDS`` is left to the task to sleep on; a
    longer one is kept as ``next_attempt_at``, so the sweep does not re-queue the record while its
    task waits for the slot.
    """
    account_id = getattr(badge, "paced_account_id", None)
    if account_id is None:
        return None
    slot = pacing.reserve_slot(kind.origin, account_id, expected_calls(kind, badge, action), held_slot)
    if slot is None or slot.wait <= 0:
        return None
    if slot.wait > pacing.max_sleep():
        change_badge(badge, deferred_until=timezone.now() + datetime.timedelta(seconds=slot.wait))
    return SyncResult(action, retry_in=slot.wait, slot_at=slot.at)


def _sync_step(kind: BadgeKind, badge_uuid: str, held_slot: float | None = None) -> SyncResult:
    """One provider step in two transactions: count the attempt and commit, then call and record.

    The first commit makes the attempt durable before the provider can act on it: if the
    process dies during the call, the count survives and the next attempt looks the badge up
    instead of issuing it a second time. The second transaction holds the row lock across the
    call, so a second task for the same badge waits and then finds nothing left to do; it
    decides again on what it finds, since another task may have finished the work in between.
    The first transaction is ``durable``: inside a caller's transaction its commit would be a
    savepoint that a crash still rolls back, so that is refused. A paced account's slot is
    reserved before the attempt is counted: a task that must wait for it spends no attempt.
    """
    with transaction.atomic(durable=True):
        badge = _locked_badge(kind, badge_uuid)
        if badge is None:
            logger.warning("Badge %s (%s) not found; nothing to send to the provider.", badge_uuid, kind.origin)
            return SyncResult(Action.NONE)
        action = next_action(badge)
        if action is Action.NONE:
            return SyncResult(action)
        if action is Action.FORGET:
            change_badge(badge, state=kind.revoked_state, provider_error="")
            return SyncResult(action)
        waiting = _paced(kind, badge, action, held_slot)
        if waiting is not None:
            return waiting
        # Should this attempt never report (the process died), the next one is due now (plus the sweep's grace).
        change_badge(badge, attempted=True, retry_at=timezone.now())
    with transaction.atomic():
        badge = _locked_badge(kind, badge_uuid)
        action = next_action(badge) if badge is not None else Action.NONE
        if action in (Action.NONE, Action.FORGET):
            return SyncResult(Action.NONE)
        template = _template_with_account(kind, badge.credential_id)
        try:
            remote = _call_provider(action, badge, template)
        except TransientProviderError as exc:
            if exc.status == 429 and getattr(badge, "paced_account_id", None) is not None:
                pacing.pause_account(kind.origin, badge.paced_account_id, exc.retry_after)
            return SyncResult(action, _after_transient_failure(badge, exc))
        except PermanentProviderError as exc:
            logger.warning("Provider refused %s of badge %s: %s", action.value, badge.uuid, exc)
            change_badge(badge, state=BadgeState.ERROR, provider_error=str(exc), attempt_ended=True)
            return SyncResult(action)
        return _record_success(kind, badge, action, remote)


def _record_success(kind: BadgeKind, badge: AnyBadge, action: Action, remote: RemoteBadge | None) -> SyncResult:
    """Store what the provider answered to a step that did not fail."""
    if action is Action.REVOKE_REPLACED:
        # The earlier badge has ended: the issue starts afresh (no attempt of it reached the provider).
        change_badge(badge, replaced_external_id="", provider_error="", attempt_ended=True, reset_attempts=True)
        logger.info("Badge %s: the earlier badge at %s is revoked; issuing anew.", badge.uuid, kind.origin)
        return SyncResult(action)
    if remote is None and action is Action.REVOKE:
        change_badge(badge, state=kind.revoked_state, provider_error="", attempt_ended=True)
        logger.info("Badge %s: not found at %s, so nothing to revoke there.", badge.uuid, kind.origin)
        return SyncResult(Action.FORGET)
    if remote is None:
        change_badge(badge, state=BadgeState.ERROR, attempt_ended=True, provider_error=(
            "The provider reports that the learner already has this badge, but did not return it."))
        return SyncResult(action)
    state = remote.state if remote.state in kind.badge_model.STATES else _default_state(action, kind)
    if action is Action.REVOKE:
        state = kind.revoked_state
    change_badge(badge, state=state, external_id=remote.external_id, provider_error="", attempt_ended=True)
    logger.info("Badge %s: %s at %s as %s (%s).", badge.uuid, action.value, kind.origin, remote.external_id, state)
    return SyncResult(action)


def _default_state(action: Action, kind: BadgeKind) -> str:
    return kind.revoked_state if action is Action.REVOKE else BadgeState.ACCEPTED


def _call_provider(action: Action, badge: AnyBadge, template: BadgeTemplate) -> RemoteBadge | None:
    """The provider call. None: nothing to revoke was found, or a duplicate refusal left nothing to adopt.

    A badge the provider already holds (duplicate refusal, or found after an earlier attempt) is
    adopted, unless it has ended (revoked, rejected, expired): that one is not this record's
    live badge, so it is neither adopted when issuing nor revoked again.
    """
    provider = provider_for_template(template)
    recipient = recipient_of(badge)
    external_template = template_external_id(template)
    if action is Action.REVOKE_REPLACED:
        return provider.revoke_badge(badge_external_id=badge.replaced_external_id, reason=REVOKE_REASON)
    if action is Action.REVOKE:
        external_id = kind_of(badge).external_id(badge)
        if external_id is None:
            # An issue attempt whose answer was lost (OutcomeUnknownError) may have issued it.
            found = _adoptable(badge, provider.find_badge(template_external_id=external_template, recipient=recipient))
            if found is None:
                return None
            external_id = found.external_id
        return provider.revoke_badge(badge_external_id=external_id, reason=REVOKE_REASON)
    if badge.issue_attempts > 1:
        # An attempt besides this one (already counted) may have been carried out although its
        # answer was lost (a timeout, an error after the work, a crash): look before issuing again.
        existing = _adoptable(badge, provider.find_badge(template_external_id=external_template, recipient=recipient))
        if existing is not None:
            logger.info("Badge %s already exists at the provider after an earlier attempt; adopting it.", badge.uuid)
            return existing
    try:
        return provider.issue_badge(template_external_id=external_template, recipient=recipient,
                                    issued_at=badge.created)
    except DuplicateBadgeError:
        logger.info("Provider already holds badge %s; adopting it.", badge.uuid)
        return _adoptable(badge, provider.find_badge(template_external_id=external_template, recipient=recipient))


def _adoptable(badge: AnyBadge, found: RemoteBadge | None) -> RemoteBadge | None:
    """The badge found at the provider if it may stand for this record: not one that has ended."""
    if found is not None and found.state in ENDED_STATES:
        logger.info("Badge %s: the provider's badge %s is %s; not adopting it.", badge.uuid, found.external_id,
                    found.state)
        return None
    return found


def _after_transient_failure(badge: AnyBadge, exc: TransientProviderError) -> float | None:
    """Record the failure; seconds until the next attempt, or None once past the retry horizon.

    The horizon counts from the start of the current cycle (award, revoke, operator retry,
    re-award), so a revoke or retry of an old badge gets its full horizon too.
    """
    started = badge.sync_started_at or badge.created
    if timezone.now() - started > retry_horizon():
        change_badge(badge, state=BadgeState.ERROR, attempt_ended=True,
                     provider_error=f"Gave up after {badge.issue_attempts} attempts: {exc}")
        logger.warning("Badge %s: giving up on the provider after the retry horizon: %s", badge.uuid, exc)
        return None
    delay = retry_delay(badge.issue_attempts, exc.retry_after)
    change_badge(badge, state=BadgeState.NO_RESPONSE, provider_error=str(exc), attempt_ended=True,
                 retry_at=timezone.now() + datetime.timedelta(seconds=delay))
    logger.info("Badge %s: provider unavailable (%s); next attempt in %.0f s.", badge.uuid, exc, delay)
    return delay


def retryable_badges(kind: BadgeKind) -> QuerySet:
    """Records the provider does not yet reflect, including ``error`` ones (an operator asked)."""
    awaiting_issue = Q(status=host.AWARDED, **{f"{kind.external_id_field}__isnull": True})
    awaiting_revoke = Q(status=host.REVOKED) & ~Q(state=kind.revoked_state)
    return kind.badge_model.objects.filter(
        (awaiting_issue & Q(state__in=(*WAITING_STATES, BadgeState.ERROR))) | awaiting_revoke
    )


def due_badges() -> list[tuple[str, str]]:
    """(origin, uuid) of records waiting for the provider (not ``error``) whose task looks lost.

    A task is late, not lost, while the queue holds a backlog: its retry reaches the worker
    only after every task queued before it, however short its countdown. So a record is taken
    only once the sweep grace has passed after the moment its task should have run:
    ``next_attempt_at`` (a retry's backoff or Retry-After, or the start of an attempt that never
    reported), or else the start of its cycle (the on-commit task). The records returned get
    ``next_attempt_at`` = now, as the sweep queues their task: another grace passes before a
    later sweep takes them again.
    """
    now = timezone.now()
    lost_before = now - sweep_grace()
    scheduled_task_lost = Q(next_attempt_at__lte=lost_before)
    task_lost = Q(next_attempt_at__isnull=True, cycle_started__lte=lost_before)
    due = []
    for origin, kind in KINDS.items():
        waiting = (retryable_badges(kind).exclude(state=BadgeState.ERROR)
                   .annotate(cycle_started=Coalesce("sync_started_at", "modified"))
                   .filter(scheduled_task_lost | task_lost))
        found = list(waiting.values_list("pk", "uuid"))
        kind.badge_model.objects.filter(pk__in=[pk for pk, _uuid in found]).update(next_attempt_at=now)
        due += [(origin, str(badge_uuid)) for _pk, badge_uuid in found]
    return due


def prepare_retry(badge: AnyBadge) -> bool:
    """Make a waiting or failed record eligible for the next task (operator's retry); False if nothing to do.

    The retry starts a new cycle (a full retry horizon) but keeps the attempt count, so an issue
    whose answer may have been lost is still looked up before issuing again.
    """
    kind = kind_of(badge)
    if not retryable_badges(kind).filter(pk=badge.pk).exists():
        return False
    if badge.state == BadgeState.ERROR:
        change_badge(badge, state=BadgeState.CREATED, provider_error="", start_sync=True)
    else:
        change_badge(badge, start_sync=True)
    return True


def reaward(badge: AnyBadge) -> bool:
    """Operator's explicit re-award of a revoked badge: awarded again and issued anew. False if not revoked.

    The learner must end with one live badge. When the revoke is confirmed, the new cycle has no
    attempts: the old badge has ended and is not looked up. While the revoke is still pending,
    the old badge may be live: one with a known id is kept as ``replaced_external_id`` and
    revoked before the new one is issued; one that only an unanswered attempt may have issued
    keeps the attempt count, so the issue looks it up and adopts it if it is live.
    """
    if badge.status != host.REVOKED:
        return False
    kind = kind_of(badge)
    revoke_confirmed = badge.state == kind.revoked_state
    old_id = kind.external_id(badge)
    replaced = old_id if old_id is not None and not revoke_confirmed else badge.replaced_external_id
    change_badge(badge, status=host.AWARDED, state=BadgeState.CREATED, provider_error="",
                 clear_external_id=True, replaced_external_id=replaced, start_sync=True,
                 reset_attempts=revoke_confirmed or old_id is not None)
    return True


def badge_data(badge_uuid: str, user: UserData, template: BadgeTemplateData) -> BadgeData:
    return BadgeData(uuid=str(badge_uuid), user=user, template=template)


def badge_data_of(badge: AnyBadge) -> BadgeData:
    """The public event payload of a stored badge record (admin paths; the engine builds it without queries)."""
    template = BadgeTemplate.objects.get(pk=badge.credential_id)
    user = host.user_model().objects.filter(username=badge.username).first()
    user_data = UserData(
        id=user.lms_user_id if user and user.lms_user_id is not None else 0,
        is_active=user.is_active if user else True,
        pii=UserPersonalData(username=badge.username, email=user.email if user else "",
                             name=user.full_name if user else ""),
    )
    template_data = BadgeTemplateData(uuid=str(template.uuid), origin=template.origin, name=template.name,
                                      description=template.description, image_url=template.icon)
    return badge_data(str(badge.uuid), user_data, template_data)
