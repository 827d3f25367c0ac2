"""Every bad input of bench/bad_inputs.py: its specific message, and nothing else lost or written (the
cases are defined once there; bench/results/bad_inputs.json is the table of the same runs)."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from ..conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
_spec = importlib.util.spec_from_file_location("bad_inputs", REPO / "bench" / "bad_inputs.py")
B = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(B)

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", list(B.CASES))
def test_bad_input_gets_a_specific_message_and_loses_nothing(name):
    r = B.run_case(name)
    if r["skipped"]:
        pytest.skip(r["message"])
    assert r["expect"] in r["message"], r["message"]
    assert r["handled"], f"the message is right but something else was lost or written: {r['message']}"


def test_the_suite_covers_at_least_24_cases():
    assert len(B.CASES) >= 24
