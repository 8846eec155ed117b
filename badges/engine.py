"""The awarding engine: one event in, progress, awards and revocations out.

The path of an event, as plain calls::

    handle_event            learner and payload from the signal's kwargs (no UserData: warn, drop)
      current_rulebook      one query: the configuration version (one per bus batch); the rules are
                            cached per process
      match_event           pure matching, no database
      apply_event           one transaction: ReceivedEvent row (unique event id: dedup), progress,
                            fulfillments, user, badge records
      after commit          BADGE_AWARDED / BADGE_REVOKED, provider task per badge

An event that matches nothing costs the version query (none after the first of a bus batch) and
writes nothing. A matching event is recorded in the same transaction as its effects, so it is
either fully applied and remembered or not at all. Then: a failure while applying, matching or
reading it records it ``failed`` with its payload (an event whose payload cannot be read: with the
error only, for an operator) for :func:`finish_pending_events`, the sweep. A database that cannot
be reached is the exception: that error is raised, and the bus consumer (:mod:`badges.consumers`)
keeps the message and handles it again once the database is back. A crash before commit leaves the
bus message unacknowledged (Kafka commits the offset, Redis acks, only after the receiver returns),
so the bus delivers it again, and the remembered id makes any redelivery harmless.
"""
from __future__ import annotations

import datetime
import enum
import functools
import logging
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.db import DatabaseError, IntegrityError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from openedx_events.learning.data import BadgeTemplateData

from badges import host, identity, issuing, signals, sql
from badges.conf import badges_settings
from badges.database import database_unreachable
from badges.events import event_payload, event_signal, find_user_data, unstorable_text
from badges.identity import Learner
from badges.models import BadgeProgress, BadgeState, Fulfillment, ReceivedEvent
from badges.rulebook import current_rulebook
from badges.rules import EventMatches, ProgressChange, Rulebook, TemplateSpec, match_event, plan_progress
from badges.tasks.issuing import enqueue_sync

logger = logging.getLogger(__name__)

#: Attempts of one event's transaction when it loses a race (unique constraint, deadlock).
TRANSACTION_ATTEMPTS = 4
#: After this many failed attempts the sweep stops retrying an event (it stays ``failed``).
MAX_EVENT_ATTEMPTS = 5


class Outcome(enum.Enum):
    DROPPED = "dropped"  # no UserData
    IGNORED = "ignored"  # matched nothing
    DUPLICATE = "duplicate"  # event id seen before
    APPLIED = "applied"
    FAILED = "failed"  # recorded for the sweep
    REFUSED = "refused"  # holds text no database stores; nothing recorded


@dataclass(frozen=True)
class IncomingEvent:
    event_type: str
    event_id: uuid.UUID
    event_time: datetime.datetime | None
    payload: dict[str, Any]
    learner: Learner

    def stored_payload(self) -> dict[str, Any]:
        return {"data": self.payload, "learner": self.learner.as_dict()}

    @classmethod
    def from_record(cls, record: ReceivedEvent) -> IncomingEvent:
        return cls(record.event_type, record.event_id, record.event_time, record.payload["data"],
                   Learner(**record.payload["learner"]))


@dataclass(frozen=True)
class BadgeChange:
    """A badge awarded or revoked by an event: enough to emit its public event without a query."""

    origin: str
    badge_uuid: str
    template: TemplateSpec
    learner: Learner

    def data(self):
        template = BadgeTemplateData(uuid=self.template.uuid, origin=self.template.origin, name=self.template.name,
                                     description=self.template.description, image_url=self.template.image_url)
        return issuing.badge_data(self.badge_uuid, self.learner.user_data(), template)


def handle_event(event_type: str, kwargs: Mapping[str, Any]) -> Outcome:
    """Entry point of the receiver, for bus and in-process events alike."""
    metadata = kwargs.get("metadata")
    event_id = getattr(metadata, "id", None)
    signal = event_signal(event_type)
    data = {name: kwargs[name] for name in (signal.init_data if signal else ()) if name in kwargs}
    user_data = find_user_data(data)
    if user_data is None or not getattr(getattr(user_data, "pii", None), "username", None):
        logger.warning("Dropped event %s %s: it names no learner (no UserData with a username).",
                       event_type, event_id)
        return Outcome.DROPPED
    learner = Learner.from_user_data(user_data)
    event_id = event_id if isinstance(event_id, uuid.UUID) else uuid.uuid4()
    event_time = getattr(metadata, "time", None)
    if _refused(event_type, event_id, learner.refusal()):
        return Outcome.REFUSED
    try:
        payload = event_payload(event_type, data)
    except Exception as exc:
        logger.exception("Event %s %s could not be read; it is kept, without its payload, for an operator.",
                         event_type, event_id)
        _record_failure(event_id, event_type, event_time, learner.username, {"learner": learner.as_dict()}, exc)
        return Outcome.FAILED
    where = unstorable_text(payload)
    if _refused(event_type, event_id, where and f"{where} holds a NUL character or a lone surrogate"):
        return Outcome.REFUSED
    return process_event(IncomingEvent(event_type, event_id, event_time, payload, learner))


def _refused(event_type: str, event_id: uuid.UUID, reason: str | None) -> bool:
    """Refuse (warn, record nothing) an event no database can store: it could never be applied, only fail."""
    if reason is None:
        return False
    logger.warning("Refused event %s %s: %s; nothing was recorded.", event_type, event_id, reason)
    return True


def process_event(event: IncomingEvent) -> Outcome:
    matched = match_or_keep(event)
    if matched is None:
        return Outcome.FAILED
    rulebook, matches = matched
    if not matches:
        return Outcome.IGNORED
    return apply_matching_event(event, rulebook, matches)


def match_or_keep(event: IncomingEvent) -> tuple[Rulebook, EventMatches] | None:
    """The rulebook and the event's matches; None if matching failed, the event then kept ``failed``."""
    try:
        rulebook = current_rulebook(event.event_type)
        return rulebook, match_event(rulebook, event.payload)
    except Exception as exc:
        if database_unreachable(exc):
            raise  # the bus consumer keeps the event and handles it again once the database is back
        logger.exception("Event %s %s could not be matched; it is kept for the sweep.",
                         event.event_type, event.event_id)
        _record_failure(event.event_id, event.event_type, event.event_time, event.learner.username,
                        event.stored_payload(), exc)
        return None


def apply_matching_event(event: IncomingEvent, rulebook: Rulebook, matches: EventMatches,
                         record_id: int | None = None) -> Outcome:
    """Apply a matching event in one transaction that also records its id; never lose it on failure.

    ``record_id`` names an existing ReceivedEvent (the sweep); without it the transaction inserts
    one. A unique-constraint conflict on the event id means it was seen before: processed, it is
    a duplicate; left failed, this delivery finishes it. Other conflicts (two processes creating
    the same progress row, a deadlock) run the transaction again. Any other failure is recorded
    as a ``failed`` ReceivedEvent, which the sweep applies later.
    """
    try:
        for attempt in range(1, TRANSACTION_ATTEMPTS + 1):
            try:
                return apply_event(event, rulebook, matches, record_id, thorough=attempt > 1)
            except (IntegrityError, OperationalError) as exc:
                if attempt == TRANSACTION_ATTEMPTS or not _lost_a_race(exc):
                    raise
                if record_id is None:
                    seen = ReceivedEvent.objects.filter(event_id=event.event_id).values_list("pk", "status").first()
                    if seen is not None and seen[1] == ReceivedEvent.Status.PROCESSED:
                        logger.info("Event %s %s was received before; ignored.", event.event_type, event.event_id)
                        return Outcome.DUPLICATE
                    record_id = seen[0] if seen is not None else None
                logger.info("Event %s lost a race (%s); applying it again.", event.event_id, exc)
    except Exception as exc:
        if database_unreachable(exc):
            raise  # the bus consumer keeps the event and handles it again once the database is back
        logger.exception("Event %s %s could not be applied; it is kept for the sweep.",
                         event.event_type, event.event_id)
        _record_failure(event.event_id, event.event_type, event.event_time, event.learner.username,
                        event.stored_payload(), exc)
    return Outcome.FAILED


def _lost_a_race(exc: DatabaseError) -> bool:
    """A unique-constraint race, or a deadlock / serialization failure: the transaction can run again."""
    if isinstance(exc, IntegrityError):
        return True
    cause = exc.__cause__
    sqlstate = getattr(cause, "sqlstate", None)
    mysql_code = cause.args[0] if cause is not None and cause.args and isinstance(cause.args[0], int) else None
    return sqlstate in {"40001", "40P01"} or mysql_code in {1213, 1205}


def _record_failure(event_id: uuid.UUID, event_type: str, event_time: datetime.datetime | None, username: str,
                    payload: dict[str, Any], exc: Exception) -> None:
    """Keep the event ``failed``, with the error, for the sweep (raises if even that is impossible).

    ``payload`` is :meth:`IncomingEvent.stored_payload`; without its ``data`` (the event could
    not be read) the sweep cannot apply it and it waits for an operator.
    """
    error = f"{type(exc).__name__}: {exc}"[:2000]
    record, created = ReceivedEvent.objects.get_or_create(event_id=event_id, defaults={
        "event_type": event_type, "event_time": event_time, "username": username,
        "payload": payload, "status": ReceivedEvent.Status.FAILED, "error": error, "attempts": 1,
    })
    if not created:
        ReceivedEvent.objects.filter(pk=record.pk).exclude(status=ReceivedEvent.Status.PROCESSED).update(
            status=ReceivedEvent.Status.FAILED, error=error, attempts=F("attempts") + 1)


def _claim(event: IncomingEvent, record_id: int | None) -> bool:
    """Record the event as processed in the current transaction; False if another process already did."""
    now = timezone.now()
    if record_id is None:
        sql.insert_rows(ReceivedEvent, [ReceivedEvent(
            event_id=event.event_id, event_type=event.event_type, event_time=event.event_time,
            username=event.learner.username, payload=event.stored_payload(),
            status=ReceivedEvent.Status.PROCESSED, processed_at=now, attempts=1,
        )])
        return True
    return bool(ReceivedEvent.objects.filter(pk=record_id).exclude(status=ReceivedEvent.Status.PROCESSED).update(
        status=ReceivedEvent.Status.PROCESSED, processed_at=now, error="", attempts=F("attempts") + 1,
    ))


def apply_event(event: IncomingEvent, rulebook: Rulebook, matches: EventMatches,
                record_id: int | None = None, thorough: bool = False) -> Outcome:
    """One transaction: record the event id, update progress, award, revoke.

    Queries: the event record; the lock of the learner's progress rows; their fulfillments and
    badge records (one read); then only as needed one insert of new progress rows, one of
    fulfillments, one delete, one insert of the user, two per new badge record, two per revoked one.
    A template without a progress row has no badge record for the learner (badges are only created
    with progress), so it is not looked up; the unique constraint on badge records backs that up,
    and a retry after a conflict (``thorough``) looks them up.
    """
    replayed = record_id is not None
    with transaction.atomic():
        if not _claim(event, record_id):
            return Outcome.DUPLICATE
        learner, locked = identity.lock_learner(event.learner, replayed)
        progress = _progress_state([locked[t] for t in matches.template_ids if t in locked])
        fulfilled = {template_id: state.fulfilled for template_id, state in progress.items()}
        changes = [c for c in plan_progress(rulebook, matches, fulfilled) if c.changed]
        if not changes:
            return Outcome.APPLIED
        progress_ids = _ensure_progress(learner, progress, [c.template_id for c in changes if c.add])
        _write_fulfillments(event, changes, progress_ids)
        badges = {template_id: state.badge for template_id, state in progress.items() if state.badge}
        if thorough:
            badges |= _badge_records(learner.username, [c.template_id for c in changes])
        awarded, revoked = _award_and_revoke(learner, rulebook, changes, badges, replayed)
        if awarded or revoked:
            transaction.on_commit(partial(_after_commit, awarded, revoked))
    return Outcome.APPLIED


@dataclass
class ProgressState:
    """A learner's progress row for one template, its fulfilled requirements and badge record, if any."""

    progress_id: int
    fulfilled: set[int]
    badge: tuple[int, str] | None  # (badge record id, status)


def _progress_state(locked: list[int]) -> dict[int, ProgressState]:
    """Read the fulfillments and badges of progress rows :func:`identity.lock_learner` locked.

    Two statements on purpose: a reading statement that waited for a lock still sees the data
    as of its start (PostgreSQL), so the read must start after the lock is held, or a
    fulfillment committed by the transaction we waited for would be missed. Both are plain SQL
    prepared once (this read per size, :func:`_read_sql`): building them with the ORM on every
    matching event cost more than running them.
    """
    if not locked:
        return {}
    with connection.cursor() as cursor:
        content_types = [kind.template_content_type_id() for kind in issuing.KINDS.values()]
        cursor.execute(_read_sql(connection.vendor, len(locked)), [*content_types, *content_types, *locked])
        rows = cursor.fetchall()
    progress: dict[int, ProgressState] = {}
    for progress_id, template_id, requirement_id, badge_id, badge_status in rows:
        state = progress.setdefault(
            template_id, ProgressState(progress_id, set(), (badge_id, badge_status) if badge_id else None))
        if requirement_id is not None:
            state.fulfilled.add(requirement_id)
    return progress


def _column(model: type, name: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(name).column)


def _table(model: type) -> str:
    return connection.ops.quote_name(model._meta.db_table)


@functools.lru_cache(maxsize=32)
def _read_sql(vendor: str, progress_rows: int) -> str:
    """Each of ``progress_rows`` progress rows with its fulfillments and the learner's badge record for
    the template, of either provider. Parameters: the template content types twice, then the row ids."""
    progress = functools.partial(_column, BadgeProgress)
    credential = functools.partial(_column, host.UserCredential)
    kinds = ", ".join(["%s"] * len(issuing.KINDS))

    def badge(field: str) -> str:
        return (
            f"(SELECT c.{credential(field)} FROM {_table(host.UserCredential)} c "  # noqa: S608 - from meta
            f"WHERE c.{credential('username')} = p.{progress('username')} "
            f"AND c.{credential('credential_id')} = p.{progress('template')} "
            f"AND c.{credential('credential_content_type')} IN ({kinds}) ORDER BY c.{credential('id')} LIMIT 1)"
        )

    return (
        f"SELECT p.{progress('id')}, p.{progress('template')}, f.{_column(Fulfillment, 'requirement')}, "  # noqa: S608
        f"{badge('id')}, {badge('status')} "
        f"FROM {_table(BadgeProgress)} p LEFT OUTER JOIN {_table(Fulfillment)} f "
        f"ON f.{_column(Fulfillment, 'progress')} = p.{progress('id')} "
        f"WHERE p.{progress('id')} IN ({', '.join(['%s'] * progress_rows)})"
    )


def _ensure_progress(learner: Learner, progress: dict[int, ProgressState], template_ids: list[int]) -> dict[int, int]:
    """Progress ids per template, creating missing rows (a concurrent creator makes this raise and retry)."""
    ids = {template_id: state.progress_id for template_id, state in progress.items()}
    missing = [BadgeProgress(username=learner.username, lms_user_id=learner.lms_user_id, template_id=t)
               for t in template_ids if t not in ids]
    if missing:
        created = sql.insert_rows(BadgeProgress, missing, return_ids=True)
        if created is None:  # a database that cannot return ids from a multi-row insert
            ids.update(BadgeProgress.objects.filter(username=learner.username, template_id__in=[
                row.template_id for row in missing]).values_list("template_id", "id"))
        else:
            ids.update((row.template_id, progress_id) for row, progress_id in zip(missing, created, strict=True))
    return ids


def _write_fulfillments(event: IncomingEvent, changes: list[ProgressChange], progress_ids: dict[int, int]) -> None:
    removals = Q()
    for change in changes:
        if change.remove:
            removals |= Q(progress_id=progress_ids[change.template_id], requirement_id__in=change.remove)
    if removals:
        Fulfillment.objects.filter(removals).delete()
    additions = [
        Fulfillment(progress_id=progress_ids[change.template_id], requirement_id=requirement_id,
                    event_id=event.event_id, event_type=event.event_type, event_time=event.event_time)
        for change in changes for requirement_id in sorted(change.add)
    ]
    sql.insert_rows(Fulfillment, additions)


def _award_and_revoke(learner: Learner, rulebook: Rulebook, changes: list[ProgressChange],
                      badges: dict[int, tuple[int, str]],
                      replayed: bool) -> tuple[list[BadgeChange], list[BadgeChange]]:
    """Award templates this event completed (no badge record yet); revoke awarded badges it made incomplete.

    ``badges`` maps template ids to the learner's badge record (id, status). A learner with any
    record for a template, awarded or revoked, is not awarded again by events: a revoked badge
    comes back only through the admin's explicit re-award.
    """
    to_award = [c for c in changes if c.may_award and c.template_id not in badges]
    awarded_before = {t for t, (_badge_id, status) in badges.items() if status == host.AWARDED}
    to_revoke = [c for c in changes if c.may_revoke and c.template_id in awarded_before]
    awarded, revoked = [], []
    if to_award:
        identity.save_user(learner, replayed)
    for change in to_award:
        template = rulebook.templates[change.template_id]
        badge = issuing.KINDS[template.origin].badge_model.objects.create(
            credential_content_type_id=template.content_type_id, credential_id=template.id,
            username=learner.username, status=host.AWARDED, state=BadgeState.CREATED,
            sync_started_at=timezone.now(),
        )
        awarded.append(BadgeChange(template.origin, str(badge.uuid), template, learner))
    for change in to_revoke:
        template = rulebook.templates[change.template_id]
        badge = issuing.KINDS[template.origin].badge_model.objects.select_for_update().get(
            pk=badges[change.template_id][0])
        issuing.change_badge(badge, status=host.REVOKED, start_sync=True)
        revoked.append(BadgeChange(template.origin, str(badge.uuid), template, learner))
    return awarded, revoked


def _badge_records(username: str, template_ids: Iterable[int]) -> dict[int, tuple[int, str]]:
    """The learner's badge records (id, status) for the templates, by template id: one query."""
    rows = identity.badge_credentials().filter(username=username, credential_id__in=list(template_ids))
    return {template_id: (badge_id, status) for badge_id, template_id, status in
            rows.values_list("id", "credential_id", "status")}


def _after_commit(awarded: list[BadgeChange], revoked: list[BadgeChange]) -> None:
    for change in awarded:
        signals.emit_badge_awarded(change.data())
        enqueue_sync(change.origin, change.badge_uuid)
    for change in revoked:
        signals.emit_badge_revoked(change.data())
        enqueue_sync(change.origin, change.badge_uuid)


# --- The sweep's part: events left unfinished, and pruning of remembered event ids --------------

def dedup_window() -> datetime.timedelta:
    return datetime.timedelta(days=badges_settings.EVENT_DEDUP_DAYS)


def finish_pending_events(limit: int = 500) -> int:
    """Apply recorded events left ``failed``; returns how many were applied.

    Only events stored with their data: one that could not even be read waits for an operator.
    """
    pending = ReceivedEvent.objects.filter(
        status=ReceivedEvent.Status.FAILED, attempts__lt=MAX_EVENT_ATTEMPTS, payload__has_key="data",
    ).order_by("received_at")[:limit]
    applied = 0
    for record in pending:
        event = IncomingEvent.from_record(record)
        matched = match_or_keep(event)
        if matched is None:
            continue
        rulebook, matches = matched
        if not matches:
            ReceivedEvent.objects.filter(pk=record.pk).update(
                status=ReceivedEvent.Status.PROCESSED, processed_at=timezone.now())
            continue
        if apply_matching_event(event, rulebook, matches, record.pk) is Outcome.APPLIED:
            applied += 1
    return applied


def prune_received_events() -> int:
    """Forget processed event ids older than the dedup window (``BADGES_EVENT_DEDUP_DAYS``)."""
    deleted, _ = ReceivedEvent.objects.filter(
        status=ReceivedEvent.Status.PROCESSED, received_at__lt=timezone.now() - dedup_window()
    ).delete()
    return deleted
