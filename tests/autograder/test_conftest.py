"""The suite's own rule: a sandbox test is skipped where bubblewrap cannot start, but fails under CI."""
import pytest

import conftest
from autograder.isolation import sandbox


class _Item:
    """Just enough of a pytest item for the setup hook: the markers it carries."""

    def __init__(self, *markers):
        self.markers = set(markers)

    def get_closest_marker(self, name):
        return object() if name in self.markers else None


def _unavailable(monkeypatch):
    monkeypatch.setattr(sandbox, "available", lambda: (False, "bwrap: setting up uid map: Permission denied"))


@pytest.mark.parametrize("value", ["true", "1", "yes"])
def test_a_sandbox_test_fails_with_the_reason_under_ci(monkeypatch, value):
    _unavailable(monkeypatch)
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match="CI is set.*uid map: Permission denied"):
        conftest.pytest_runtest_setup(_Item("needs_sandbox"))


@pytest.mark.parametrize("value", [None, "", "false", "0"])
def test_a_sandbox_test_is_skipped_with_the_reason_outside_ci(monkeypatch, value):
    _unavailable(monkeypatch)
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.skip.Exception, match="uid map: Permission denied"):
        conftest.pytest_runtest_setup(_Item("needs_sandbox"))


def test_the_rule_leaves_other_tests_and_a_working_sandbox_alone(monkeypatch):
    monkeypatch.setenv("CI", "true")
    _unavailable(monkeypatch)
    assert conftest.pytest_runtest_setup(_Item("slow")) is None  # not marked: runs
    monkeypatch.setattr(sandbox, "available", lambda: (True, "bubblewrap works"))
    assert conftest.pytest_runtest_setup(_Item("needs_sandbox")) is None


def test_the_security_tests_carry_the_marker():
    # The rule only protects tests that use it: every sandboxed engine test (the hostile
    # fixtures) and the probe test must carry the marker, none a plain skipif on the sandbox.
    import re
    from pathlib import Path

    import test_engine
    import test_sandbox

    text = Path(test_engine.__file__).read_text()
    decorated = set(re.findall(r"^@needs_bwrap\n(?:@.*\n)*def (test_\w+)", text, re.MULTILINE))
    marked = {name for name in dir(test_engine) if name.startswith("test_")
              and any(m.name == "needs_sandbox" for m in getattr(getattr(test_engine, name), "pytestmark", []))}
    assert len(decorated) >= 8 and marked == decorated
    for module in (test_engine, test_sandbox):
        assert "skipif(not sandbox.available()" not in Path(module.__file__).read_text()
    probe = test_sandbox.test_available_probe_starts_bwrap_quickly
    assert any(m.name == "needs_sandbox" for m in probe.pytestmark)
