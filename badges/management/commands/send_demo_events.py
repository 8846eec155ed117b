"""Send demo course-passing events for a demo learner, in-process or onto the event bus.

With no producer configured (the embedded default) the event is sent in this process, so the
badges receivers handle it here and write to the service's database. With ``EVENT_BUS_PRODUCER``
set (``EVENT_BUS_BACKEND=kafka|redis``) it is published to ``learning-badges-lifecycle`` the way
the LMS publishes it, and a running ``consume_events`` process handles it.
"""
from __future__ import annotations

import datetime
import time
import zlib
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from opaque_keys import InvalidKeyError
from opaque_keys.edx.keys import CourseKey
from openedx_events.data import EventsMetadata
from openedx_events.event_bus import get_producer
from openedx_events.learning.data import CourseData, CoursePassingStatusData, UserData, UserPersonalData
from openedx_events.learning.signals import COURSE_PASSING_STATUS_UPDATED

from badges.management.commands.seed_demo import DEMO_COURSES

TOPIC = "learning-badges-lifecycle"
EVENT_KEY_FIELD = "course_passing_status.course.course_key"


def course_passing_status(
    *, username: str, email: str, full_name: str, lms_user_id: int, course_key: str, is_passing: bool = True
) -> CoursePassingStatusData:
    """The payload the LMS sends when a learner's passing status in a course changes."""
    return CoursePassingStatusData(
        is_passing=is_passing,
        course=CourseData(course_key=CourseKey.from_string(course_key), display_name=f"Demo course {course_key}"),
        user=UserData(
            id=lms_user_id, is_active=True, pii=UserPersonalData(username=username, email=email, name=full_name)
        ),
    )


def demo_lms_user_id(username: str) -> int:
    """A stable LMS user id per demo username, so different demo learners never share one."""
    return 1000 + zlib.crc32(username.encode()) % 1_000_000


class Command(BaseCommand):
    help = (
        "Send COURSE_PASSING_STATUS_UPDATED events for a demo learner: in-process, or onto the event bus "
        "when EVENT_BUS_PRODUCER is configured (unless --in-process)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="demo-learner")
        parser.add_argument("--email", default="")
        parser.add_argument("--full-name", default="Demo Learner")
        parser.add_argument("--lms-user-id", type=int, help="Default: a stable number derived from the username.")
        parser.add_argument(
            "--course", action="append", dest="courses", metavar="COURSE_KEY",
            help="Course the learner passes (repeatable). Default: the demo courses of group A and group B.",
        )
        parser.add_argument("--failing", action="store_true", help="Send is_passing=false instead.")
        parser.add_argument("--in-process", action="store_true", help="Handle here even if a bus is configured.")
        parser.add_argument("--pause", type=float, default=0.0, help="Seconds to wait between events.")

    def handle(self, *args: Any, **options: Any) -> None:
        courses = options["courses"] or [DEMO_COURSES["A"], DEMO_COURSES["B"]]
        for course_key in courses:
            try:
                CourseKey.from_string(course_key)
            except InvalidKeyError as error:
                raise CommandError(f"Not a course key: {course_key!r}") from error
        use_bus = bool(getattr(settings, "EVENT_BUS_PRODUCER", None)) and not options["in_process"]
        producer = get_producer() if use_bus else None
        username = options["username"]
        for index, course_key in enumerate(courses):
            if index and options["pause"]:
                time.sleep(options["pause"])
            data = course_passing_status(
                username=username,
                email=options["email"] or f"{username}@example.com",
                full_name=options["full_name"],
                lms_user_id=options["lms_user_id"] or demo_lms_user_id(username),
                course_key=course_key,
                is_passing=not options["failing"],
            )
            if producer is not None:
                metadata = EventsMetadata(
                    event_type=COURSE_PASSING_STATUS_UPDATED.event_type,
                    minorversion=0,
                    time=datetime.datetime.now(datetime.UTC),
                )
                producer.send(
                    signal=COURSE_PASSING_STATUS_UPDATED, topic=TOPIC, event_key_field=EVENT_KEY_FIELD,
                    event_data={"course_passing_status": data}, event_metadata=metadata,
                )
                self.stdout.write(f"published {metadata.id} for {username} in {course_key} to {TOPIC}")
            else:
                responses = COURSE_PASSING_STATUS_UPDATED.send_event(course_passing_status=data)
                failures = [repr(response) for _, response in responses if isinstance(response, Exception)]
                if not responses:
                    raise CommandError(
                        f"Not handled: no receiver is connected in this process (is BADGES_ENABLED on?); "
                        f"the event for {course_key} was dropped."
                    )
                if failures:
                    raise CommandError(f"Handling the event for {course_key} failed: {'; '.join(failures)}")
                self.stdout.write(f"handled in-process: {username} passed {course_key}")
        if producer is not None and hasattr(producer, "prepare_for_shutdown"):
            producer.prepare_for_shutdown()
