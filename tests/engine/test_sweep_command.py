"""``manage.py sweep_badges``: once, or in a loop where no Celery beat runs."""
import pytest
from django.core.management import call_command

from badges.management.commands import sweep_badges

pytestmark = pytest.mark.django_db


def test_sweeps_once_and_reports_what_it_did(capsys):
    call_command("sweep_badges")
    out = capsys.readouterr().out
    assert "events applied: 0" in out and "badges requeued: 0" in out


def test_every_sweeps_until_interrupted(monkeypatch, capsys):
    naps = []

    def sleep(seconds):
        naps.append(seconds)
        if len(naps) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(sweep_badges.time, "sleep", sleep)
    call_command("sweep_badges", every=60)
    assert naps == [60, 60]
    assert capsys.readouterr().out.count("events applied") == 2
