"""What the scenarios do inside a Django process on the scenario's database, as ``python -m``.

``setup``: the provider accounts and templates (matching the fake provider's) and their rules;
``send``: course-passing events through the public signal, as the bus consumer delivers them;
``publish``: the same events onto the event bus; ``report``: the badge records, as JSON.
"""
from __future__ import annotations

import argparse
import datetime
import json
import sys
from collections import Counter
from typing import Any

import django


def learner_name(number: int) -> str:
    return f"learner-{number:05d}"


def setup(config: dict[str, Any]) -> None:
    from django.contrib.sites.models import Site

    from badges.models import (
        AccredibleAPIConfig,
        AccredibleGroup,
        BadgeRequirement,
        CredlyBadgeTemplate,
        CredlyOrganization,
        DataRule,
    )

    site = Site.objects.get_current()
    organization = CredlyOrganization.objects.create(uuid=config["credly_org"], api_key=config["credly_key"],
                                                     name="Reliability org")
    credly = CredlyBadgeTemplate.objects.create(site=site, organization=organization, uuid=config["credly_template"],
                                                name="Reliability Credly badge", state="active")
    account = AccredibleAPIConfig.objects.create(name="Reliability issuer", api_key=config["accredible_key"])
    accredible = AccredibleGroup.objects.create(site=site, api_config=account, external_id=config["accredible_group"],
                                                name="Reliability Accredible group", state="active")
    for template, groups in ((credly, config["credly_courses"]), (accredible, config["accredible_courses"])):
        for group, course in zip("ABCDEFGH", groups, strict=False):
            requirement = BadgeRequirement.objects.create(template=template, group=group,
                                                          event_type=config["event_type"])
            DataRule.objects.create(requirement=requirement, data_path="course.course_key", operator="eq",
                                    value=course)
            DataRule.objects.create(requirement=requirement, data_path="is_passing", operator="eq", value="true")
        template.is_active = True
        template.save()


def events(learners: range, courses: list[str]):
    from badges.management.commands.send_demo_events import course_passing_status

    for number in learners:
        for course in courses:
            yield course_passing_status(username=learner_name(number), email=f"{learner_name(number)}@example.com",
                                        full_name=f"Learner {number}", lms_user_id=10_000 + number,
                                        course_key=course)


def send(learners: range, courses: list[str]) -> None:
    """Through the public signal in this process: the receiver and the engine handle each event."""
    from openedx_events.learning.signals import COURSE_PASSING_STATUS_UPDATED

    for data in events(learners, courses):
        for _receiver, response in COURSE_PASSING_STATUS_UPDATED.send_event(course_passing_status=data):
            if isinstance(response, Exception):
                raise response


def publish(learners: range, courses: list[str], topic: str) -> None:
    """Onto the configured event bus, as the LMS publishes them."""
    from openedx_events.data import EventsMetadata
    from openedx_events.event_bus import get_producer
    from openedx_events.learning.signals import COURSE_PASSING_STATUS_UPDATED

    producer = get_producer()
    for data in events(learners, courses):
        metadata = EventsMetadata(event_type=COURSE_PASSING_STATUS_UPDATED.event_type, minorversion=0,
                                  time=datetime.datetime.now(datetime.UTC))
        producer.send(signal=COURSE_PASSING_STATUS_UPDATED, topic=topic,
                      event_key_field="course_passing_status.course.course_key",
                      event_data={"course_passing_status": data}, event_metadata=metadata)
    if hasattr(producer, "prepare_for_shutdown"):
        producer.prepare_for_shutdown()


def report() -> dict[str, Any]:
    """Per provider: records, issued ones, learners holding an issued one, records beyond one per
    learner and template, learners whose record is not issued, and the records' states."""
    from badges.issuing import KINDS

    result = {}
    for origin, kind in KINDS.items():
        rows = list(kind.badge_model.objects.values_list("username", "credential_id", kind.external_id_field,
                                                         "state"))
        per_learner = Counter((username, template) for username, template, _id, _state in rows)
        result[origin] = {
            "records": len(rows),
            "issued": sum(external_id is not None for _u, _t, external_id, _s in rows),
            "learners_issued": len({username for username, _t, external_id, _s in rows if external_id is not None}),
            "extra_records": sum(count - 1 for count in per_learner.values()),
            "unissued": sorted(username for username, _t, external_id, _s in rows if external_id is None),
            "states": dict(Counter(state for _u, _t, _id, state in rows)),
        }
    return result


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["setup", "send", "publish", "report"])
    parser.add_argument("--config", default="{}")
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--learners", type=int, default=0)
    parser.add_argument("--course", action="append", default=[])
    parser.add_argument("--topic", default="learning-badges-lifecycle")
    args = parser.parse_args(argv)
    django.setup()
    learners = range(args.first, args.first + args.learners)
    if args.command == "setup":
        setup(json.loads(args.config))
    elif args.command == "send":
        send(learners, args.course)
    elif args.command == "publish":
        publish(learners, args.course, args.topic)
    else:
        print("REPORT=" + json.dumps(report()))


if __name__ == "__main__":
    main(sys.argv[1:])
