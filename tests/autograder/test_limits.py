"""Unit tests of the sandbox policy beside Limits, and of a grading run's options."""

import pytest

from autograder.classrun.grade import GradeOptions
from autograder.limits import Limits, SandboxPolicy


def test_a_policy_is_read_from_itself_its_dict_or_a_bool():
    off = SandboxPolicy(enabled=False)
    assert SandboxPolicy.of(off) is off
    assert SandboxPolicy.of(off.to_dict()) == off
    assert SandboxPolicy.of(False) == off and SandboxPolicy.of(True) == SandboxPolicy()
    assert SandboxPolicy().enabled is True


@pytest.mark.parametrize("bad, words", [
    (None, "sandbox must be"), ("yes", "sandbox must be"),
    ({"network": True}, "unknown sandbox settings ['network']"),
    ({"enabled": 1}, "enabled must be True or False"),
])
def test_a_bad_policy_is_refused_with_its_name(bad, words):
    with pytest.raises(ValueError) as err:
        SandboxPolicy.of(bad)
    assert words in str(err.value)


def test_the_job_deadline_defaults_to_the_limits_budgets_plus_a_margin():
    limits = Limits(startup_timeout=7, notebook_timeout=11)
    assert GradeOptions(limits).job_deadline() == 7 + 11 + 120
    assert GradeOptions(limits, deadline_s=5.0).job_deadline() == 5.0
    with pytest.raises(AttributeError):
        GradeOptions().force = True  # frozen: one run's settings do not change under it
