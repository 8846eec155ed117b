"""Who a learner is: the LMS user id when an event carries one, else the username.

Records keep the learner's *current* username (the host's ``UserCredential`` is keyed by it), so
a rename found by an event rewrites it on the learner's progress rows, badge records and user
record. Retirement replaces the username, email and name everywhere they are stored with the
LMS's retired values (a salted hash of the username), keeping every row, count and state.
"""
from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass, replace
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connections, router, transaction
from django.db.models import Q, QuerySet
from openedx_events.learning.data import UserData, UserPersonalData

from badges import host, issuing, sql
from badges.conf import badges_settings
from badges.events import unstorable_text
from badges.models import BadgeProgress, BadgeState, ReceivedEvent

#: The largest LMS user id the user table stores (a positive 32-bit integer column on every database).
LMS_USER_ID_MAX = 2**31 - 1


@dataclass(frozen=True)
class Learner:
    """The learner an event names, as ``UserData`` gives it."""

    username: str
    email: str
    full_name: str
    lms_user_id: int | None
    is_active: bool = True

    @classmethod
    def from_user_data(cls, user: UserData) -> Learner:
        pii = user.pii
        return cls(username=pii.username, email=pii.email or "", full_name=pii.name or "",
                   lms_user_id=user.id, is_active=bool(user.is_active))

    def as_dict(self) -> dict[str, Any]:
        """The fields as stored with an event (what ``dataclasses.asdict`` gives, without its deep copy)."""
        return {"username": self.username, "email": self.email, "full_name": self.full_name,
                "lms_user_id": self.lms_user_id, "is_active": self.is_active}

    def user_data(self) -> UserData:
        return UserData(id=self.lms_user_id, is_active=self.is_active,
                        pii=UserPersonalData(username=self.username, email=self.email, name=self.full_name))

    def refusal(self) -> str | None:
        """Why no database could store this learner, or None. The LMS has the same limits, so such a
        learner is not from it: a NUL or lone surrogate, text longer than its column, an id out of range."""
        for name in ("username", "email", "full_name"):
            if unstorable_text(getattr(self, name)):
                return f"the learner's {name} holds a NUL character or a lone surrogate"
        for name, limit in _user_field_limits(host.user_model()).items():
            if len(getattr(self, name)) > limit:
                return f"the learner's {name} is longer than {limit} characters"
        if self.lms_user_id is not None and not 0 <= self.lms_user_id <= LMS_USER_ID_MAX:
            return f"the learner's LMS user id {self.lms_user_id} is out of range"
        return None

    def new_user(self) -> AbstractBaseUser:
        user = host.user_model()(username=self.username, email=self.email, full_name=self.full_name,
                    lms_user_id=self.lms_user_id, is_active=self.is_active)
        user.set_unusable_password()
        return user


@functools.cache
def _user_field_limits(user_model: type) -> dict[str, int]:
    """Lengths the user table stores, per learner field (cached: every event's learner is checked)."""
    return {name: user_model._meta.get_field(name).max_length for name in ("username", "email", "full_name")}


def lock_learner(learner: Learner, replayed: bool) -> tuple[Learner, dict[int, int]]:
    """Lock every progress row of the learner; follow a rename; the current learner and {template: row}.

    One query unless the rows disagree with the event: a new username (or rows stored without the
    id) is written on the learner's records. An event replayed by the sweep is older than what the
    records say, so it takes the current username instead of renaming the learner back.
    """
    connection = connections[router.db_for_write(BadgeProgress)]
    by_id = learner.lms_user_id is not None
    with connection.cursor() as cursor:
        cursor.execute(_lock_sql(connection.alias, by_id),
                       [learner.lms_user_id, learner.username] if by_id else [learner.username])
        rows = cursor.fetchall()
    stale = [row for row in rows if row[2] != learner.username
             or (learner.lms_user_id is not None and row[3] is None)]
    if stale and replayed:
        learner = _current(learner, rows)
    elif stale:
        moved = _rename(learner, rows, stale)
        rows = [(row[0], row[1], learner.username if row[0] in moved else row[2], row[3]) for row in rows]
    # A template with rows under two names (the new name was already in use): the current name's row.
    ordered = sorted(rows, key=lambda row: row[2] == learner.username)
    return learner, {template_id: progress_id for progress_id, template_id, _username, _id in ordered}


@functools.lru_cache(maxsize=8)
def _lock_sql(alias: str, by_id: bool) -> str:
    """The learner's progress rows, locked in id order: by LMS user id, plus the rows of their username.

    Rows of the username stored under another id are included: the LMS gives a username to one
    learner at a time and the rows are unique per username, so they stay keyed by it, as before ids.
    Plain SQL prepared once (parameters: the LMS user id when ``by_id``, the username): building
    it with the ORM on every matching event cost more than running it.
    """
    connection = connections[alias]
    column = functools.partial(sql.column, connection, BadgeProgress)
    learner = f"({column('lms_user_id')} = %s OR {column('username')} = %s)" if by_id else f"{column('username')} = %s"
    lock = f" {connection.ops.for_update_sql()}" if connection.features.has_select_for_update else ""
    return (f"SELECT {column('id')}, {column('template')}, {column('username')}, {column('lms_user_id')} "  # noqa: S608
            f"FROM {sql.table(connection, BadgeProgress)} WHERE {learner} ORDER BY {column('id')}{lock}")


def _current(learner: Learner, rows: list[tuple[int, int, str, int | None]]) -> Learner:
    """The learner as they are now: their user record, else the newest event received under their name.

    A rare path (a replayed event of a renamed learner), so the unindexed event lookup is acceptable;
    processed events are pruned after the dedup window, which bounds it.
    """
    username = next((row[2] for row in rows if row[3] == learner.lms_user_id), learner.username)
    user = host.user_model().objects.filter(username=username).values("email", "full_name").first()
    if user is None:
        newest = (ReceivedEvent.objects.filter(username=username, status=ReceivedEvent.Status.PROCESSED)
                  .order_by("-received_at").values_list("payload", flat=True).first()) or {}
        stored = newest.get("learner") or {}
        user = {name: stored[name] for name in ("email", "full_name") if isinstance(stored.get(name), str)}
    return replace(learner, username=username, **user)


def _rename(learner: Learner, rows: list[tuple[int, int, str, int | None]],
            stale: list[tuple[int, int, str, int | None]]) -> set[int]:
    """Write the learner's current username on their records; the progress rows renamed.

    Records whose template (or, for the user record, whose name) already has a row under the new
    name stay as they are: the name is unique per template and the rows held under it are kept.
    """
    held = {row[1] for row in rows if row[2] == learner.username}
    moved = {row[0] for row in stale if row[2] == learner.username or row[1] not in held}
    BadgeProgress.objects.filter(id__in=moved).update(username=learner.username, lms_user_id=learner.lms_user_id)
    old_usernames = {row[2] for row in stale if row[0] in moved} - {learner.username}
    if old_usernames:
        taken = list(badge_credentials().filter(username=learner.username).values_list("credential_id", flat=True))
        (badge_credentials().filter(username__in=old_usernames).exclude(credential_id__in=taken)
         .update(username=learner.username))
        users = host.user_model().objects
        if not users.filter(username=learner.username).exists():
            users.filter(lms_user_id=learner.lms_user_id).update(
                username=learner.username, email=learner.email, full_name=learner.full_name)
    return moved


def badge_credentials() -> QuerySet:
    """Badge records (base credential rows) of either provider; the host may keep other credentials."""
    return host.UserCredential.objects.filter(
        credential_content_type_id__in=[kind.template_content_type_id() for kind in issuing.KINDS.values()],
    )


def save_user(learner: Learner, replayed: bool) -> None:
    """Create the learner's user record, or bring its email and name up to date: one query.

    A replayed event's email and name may be older than the record's, so it only creates.
    """
    model = host.user_model()
    if replayed:
        model.objects.bulk_create([learner.new_user()], ignore_conflicts=True)
        return
    features = connections[router.db_for_write(model)].features
    target = {"unique_fields": ["username"]} if features.supports_update_conflicts_with_target else {}
    model.objects.bulk_create([learner.new_user()], update_conflicts=True,
                              update_fields=["email", "full_name"], **target)


# --- Retirement ------------------------------------------------------------------------------

def retired_hash(username: str) -> str:
    """The LMS's retired-username hash: SHA-1 of the current (last) salt followed by the lowercased username."""
    salts = badges_settings.RETIRED_USER_SALTS
    if not salts:
        raise ValueError("BADGES_RETIRED_USER_SALTS is empty; set it to the LMS's RETIRED_USER_SALTS.")
    return hashlib.sha1((str(salts[-1]) + username.lower()).encode()).hexdigest()  # noqa: S324 - the LMS's scheme


def _is_retired(username: str) -> bool:
    prefix, _, suffix = badges_settings.RETIRED_USERNAME_FORMAT.partition("{}")
    return re.fullmatch(re.escape(prefix) + "[0-9a-f]{40}" + re.escape(suffix), username) is not None


@dataclass(frozen=True)
class Retirement:
    """What one retirement rewrote, per kind of record (all zero: nothing left to retire)."""

    users: int = 0
    progress: int = 0
    badges: int = 0
    events: int = 0

    @property
    def changed(self) -> bool:
        return any((self.users, self.progress, self.badges, self.events))


def retire_learner(*, lms_user_id: int | None = None, username: str | None = None) -> Retirement:
    """Replace the learner's username, email and name everywhere we store them; idempotent.

    The learner is found by LMS user id and by username (each finding the other), including
    usernames they had before a rename. Rows are kept, so counts and states still add up.
    """
    if lms_user_id is None and not username:
        raise ValueError("Name the learner by LMS user id or username.")
    with transaction.atomic():
        found = _found(lms_user_id, username)
        if not found.usernames:
            return Retirement()
        current = username if username and not _is_retired(username) else found.current_username()
        digest = retired_hash(current)
        retired = {"username": badges_settings.RETIRED_USERNAME_FORMAT.format(digest),
                   "email": badges_settings.RETIRED_EMAIL_FORMAT.format(digest), "full_name": ""}
        replacements = found.replacements(retired)
        users = host.user_model().objects.filter(found.user_filter())
        for user in users:
            _retire_user(user, retired)
        progress = BadgeProgress.objects.filter(found.progress_filter()).update(username=retired["username"])
        badges = badge_credentials().filter(username__in=found.usernames).update(username=retired["username"])
        for kind in issuing.KINDS.values():
            _retire_badges(kind, retired["username"], replacements)
        events = 0
        for event in ReceivedEvent.objects.filter(found.event_filter()):
            event.username = retired["username"]
            event.payload = scrub(event.payload, replacements)
            event.error = scrub_text(event.error, replacements)
            event.save(update_fields=["username", "payload", "error"])
            events += 1
        return Retirement(users=len(users), progress=progress, badges=badges, events=events)


def _retire_user(user: Any, retired: dict[str, str]) -> None:
    """Retired values in the user record; its other name fields (a host's ``first_name``...) emptied."""
    names = [field.name for field in user._meta.get_fields() if field.name in ("first_name", "last_name")]
    for name, value in retired.items() | {name: "" for name in names}.items():
        setattr(user, name, value)
    user.is_active = False
    user.set_unusable_password()
    user.save(update_fields=[*retired, *names, "is_active", "password"])


NOT_ISSUED_AFTER_RETIREMENT = "Not issued: the learner was retired before the provider confirmed the badge."


def _retire_badges(kind: issuing.BadgeKind, retired_username: str, replacements: dict[str, str]) -> None:
    """Scrub the provider's messages; a badge not yet at the provider is never issued to a retired address."""
    badges = kind.badge_model.objects.filter(username=retired_username)
    badges.filter(status=host.AWARDED, state__in=issuing.WAITING_STATES, **{kind.external_id_field: None}).update(
        state=BadgeState.ERROR, provider_error=NOT_ISSUED_AFTER_RETIREMENT, next_attempt_at=None)
    for badge_id, error in badges.exclude(provider_error="").values_list("pk", "provider_error"):
        scrubbed = scrub_text(error, replacements)
        if scrubbed != error:
            kind.badge_model.objects.filter(pk=badge_id).update(provider_error=scrubbed)


@dataclass
class _Found:
    """Everything we know that names one learner: ids, usernames (old ones too), emails, names."""

    lms_user_ids: set[int]
    usernames: set[str]
    emails: set[str]
    names: set[str]
    latest_username: str | None

    def current_username(self) -> str:
        return self.latest_username or sorted(self.usernames)[0]

    def user_filter(self) -> Q:
        return Q(lms_user_id__in=self.lms_user_ids) | Q(username__in=self.usernames)

    def progress_filter(self) -> Q:
        return Q(lms_user_id__in=self.lms_user_ids) | Q(username__in=self.usernames)

    def event_filter(self) -> Q:
        by_id = Q()
        for lms_user_id in self.lms_user_ids:
            by_id |= Q(payload__learner__lms_user_id=lms_user_id)
        return by_id | Q(username__in=self.usernames)

    def replacements(self, retired: dict[str, str]) -> dict[str, str]:
        values = {name: "" for name in self.names if name}
        values |= {email: retired["email"] for email in self.emails if email}
        values |= {username: retired["username"] for username in self.usernames}
        return values


def _found(lms_user_id: int | None, username: str | None) -> _Found:
    """Follow id to usernames and usernames to ids (users, progress, stored events) until nothing new turns up.

    Already retired usernames are not followed or replaced: that is what makes retiring twice a no-op.
    """
    ids = {lms_user_id} if lms_user_id is not None else set()
    usernames = {username} if username and not _is_retired(username) else set()
    while True:
        users = list(host.user_model().objects.filter(Q(lms_user_id__in=ids) | Q(username__in=usernames))
                     .values_list("lms_user_id", "username", "email", "full_name"))
        progress = list(BadgeProgress.objects.filter(Q(lms_user_id__in=ids) | Q(username__in=usernames))
                        .values_list("lms_user_id", "username").order_by("-modified"))
        event_filter = Q(username__in=usernames)
        for learner_id in ids:
            event_filter |= Q(payload__learner__lms_user_id=learner_id)
        learners = [(stored or {}).get("learner") or {} for stored in
                    ReceivedEvent.objects.filter(event_filter).values_list("payload", flat=True)]
        stored = [(learner.get("lms_user_id"), learner.get("username"), learner.get("email"),
                   learner.get("full_name")) for learner in learners]
        more_ids = ids | {row[0] for row in users + progress + stored if isinstance(row[0], int)}
        more_usernames = usernames | {row[1] for row in users + progress + stored
                                      if isinstance(row[1], str) and row[1] and not _is_retired(row[1])}
        if (more_ids, more_usernames) == (ids, usernames):
            break
        ids, usernames = more_ids, more_usernames
    texts = {row[2:] for row in users + stored}
    latest = next((row[1] for row in users + progress if not _is_retired(row[1])), None)
    return _Found(ids, usernames, {row[0] for row in texts if isinstance(row[0], str) and row[0]},
                  {row[1] for row in texts if isinstance(row[1], str) and row[1]}, latest)


def scrub(value: Any, replacements: dict[str, str]) -> Any:
    """JSON data with every text equal to a replaced value swapped for its replacement.

    Only whole values: a payload names the learner in fields of their own, and a course key that
    happens to contain a username must stay intact.
    """
    if isinstance(value, str):
        return replacements.get(value, value)
    if isinstance(value, dict):
        return {key: scrub(child, replacements) for key, child in value.items()}
    if isinstance(value, list):
        return [scrub(child, replacements) for child in value]
    return value


def scrub_text(text: str, replacements: dict[str, str]) -> str:
    """Free text (an error message) with every replaced value swapped wherever it appears, longest first."""
    for old in sorted(replacements, key=len, reverse=True):
        text = text.replace(old, replacements[old])
    return text
