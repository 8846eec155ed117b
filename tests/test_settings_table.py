"""``docs/settings.rst`` lists every setting the app reads, and the app reads them in one place."""
from __future__ import annotations

import re
from pathlib import Path

import badges
from badges.conf import SETTINGS, badges_settings

APP = Path(badges.__file__).parent
TABLE = Path(__file__).resolve().parent.parent / "docs" / "settings.rst"


def documented_settings() -> set[str]:
    """The names in the first column of the app settings table."""
    text = TABLE.read_text()
    table = text[text.index(".. list-table::"):]
    return set(re.findall(r"^   \* - ``(BADGES_[A-Z0-9_]+)``", table, flags=re.MULTILINE))


def settings_read_by_code() -> dict[str, set[str]]:
    """Setting name -> files of the app that read it, through the settings object or directly."""
    found: dict[str, set[str]] = {}
    for path in APP.rglob("*.py"):
        source = path.read_text()
        names = {f"BADGES_{attr}" for attr in re.findall(r"\bbadges_settings\.([A-Z][A-Z0-9_]*)\b", source)}
        names |= set(re.findall(r"""\bsettings\.(BADGES_[A-Z0-9_]+)""", source))
        names |= set(re.findall(r"""getattr\(\s*settings\s*,\s*["'](BADGES_[A-Z0-9_]+)""", source))
        for name in names:
            found.setdefault(name, set()).add(str(path.relative_to(APP)))
    return found


def test_every_setting_the_code_reads_is_in_the_table():
    read = settings_read_by_code()
    assert read, "the scan found no setting at all: the patterns no longer match the code"
    missing = {name: files for name, files in read.items() if name not in documented_settings()}
    assert not missing, f"read by the app but not in docs/settings.rst: {missing}"


def test_the_table_and_the_declared_settings_are_the_same():
    assert documented_settings() == {setting.name for setting in SETTINGS}


def test_only_the_settings_object_reads_django_settings_for_badges():
    """Elsewhere ``settings.BADGES_X`` would bypass the declared default and its validation."""
    direct = re.compile(r"""\bsettings\.BADGES_|getattr\(\s*settings\s*,\s*["']BADGES_""")
    readers = [str(path.relative_to(APP)) for path in APP.rglob("*.py")
               if path.name != "conf.py" and direct.search(path.read_text())]
    assert not readers, f"read around badges.conf.badges_settings: {readers}"


def test_an_undeclared_setting_cannot_be_read():
    try:
        badges_settings.NOT_A_SETTING  # noqa: B018
    except AttributeError as exc:
        assert "BADGES_NOT_A_SETTING" in str(exc)
    else:
        raise AssertionError("reading an undeclared setting must fail")
