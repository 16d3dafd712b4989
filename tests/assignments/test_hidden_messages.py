"""No hidden case's message shows an expected value (see leaks.py for what counts as one).

Every variant of every assignment (the solution, its mutants and alternatives) is scored as the
grader would, and every message of every hidden case is scanned for the expected values of that
case: the solution's outputs (equal to the checks' references within 1e-9) and the references
the verdicts memoised. Scoring every variant takes minutes, so the scan is marked slow like the
mutant tests (it reuses their scores when both run in one session). The scanner itself is
tested first, on messages of the kind it must catch and must let through.
"""

import numpy as np
import pytest
import torch

import harness
from leaks import Values, expected_values, find_leaks, known_values

torch.set_num_threads(1)

ASSIGNMENTS = harness.assignments()


def _leaks(name, variant, solution):
    scores = harness.score_variant(name, variant, cache=True)
    found = []
    for check_id, score in scores.items():
        for case, (case_name, _, _, message) in zip(score.cases, score.rows):
            expected = expected_values(solution[check_id].results.get(case_name), case)
            known = known_values(score.results.get(case_name))
            for leak in find_leaks(message, expected, known, case_name):
                found.append(f"{getattr(variant, 'name', 'solution')} / {check_id} / {case_name}: {leak}\n"
                             f"      {message.splitlines()[0][:160]}")
    return found


@pytest.mark.slow
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_no_hidden_message_reveals_an_expected_value(name):
    module = harness.load_variants(name)
    solution = harness.score_variant(name, cache=True)
    found = _leaks(name, None, solution)
    for variant in (*module.MUTANTS, *module.ALTERNATIVES):
        found += _leaks(name, variant, solution)
    assert not found, f"{len(found)} hidden messages reveal expected values:\n" + "\n".join(found)


# -- the scanner itself ---------------------------------------------------------------------------

def test_scanner_finds_a_shape_a_number_a_list_and_a_token():
    want = Values(np.arange(48.0) / 7 + 0.123456789, ["dalian", "taipei"])
    got = Values(np.zeros(14))
    assert find_leaks("h has shape (14,), expected (48,)", want, got) == ["shape (48,)"]
    assert find_leaks("h is wrong at index [1]: got 0.0, expected 0.266313932", want, got) == ["number 0.266313932"]
    assert find_leaks("h[1] should be 0.266 here", want, got) == ["number 0.266"]
    assert find_leaks("the vocabulary should hold 'dalian' first", want, got) == ["string 'dalian'"]
    ints = Values(np.array([1, 2, 3, 48]))
    assert find_leaks("encode should return [1, 2, 3, 48]", ints, Values()) == ["number 48", "list [1,2,3,48]"]
    assert find_leaks("the vocabulary has 14 entries, expected 3", ints, Values(list("abcdefghijklmn"))) == ["number 3"]


def test_scanner_lets_through_what_the_student_knows():
    want = Values(np.array([0.73216, 0.5, 2.0]))
    got = Values(np.array([0.5, 0.73216]))  # off by one: its numbers are expected values elsewhere
    assert find_leaks("h is wrong at index [0] (your value 0.5); relative error 1.2e-01", want, got) == []
    assert find_leaks("h is wrong at index [1] (your value 0.73216)", want, got) == []
    assert find_leaks("h has shape (2,), wrong shape", want, got) == []
    assert find_leaks("returned 2 lists for 3 sentences", want, got) == []  # small integers: counts, indices
    assert find_leaks("the case 'scores around 1000' failed", Values(np.array([1000.0])), Values(),
                      case_name="scores around 1000") == []

