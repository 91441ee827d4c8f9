"""The membership-inference line of `train`/`run`: the AUC with its 95% interval when there is one."""

from __future__ import annotations

from datamoat.cli.model_commands import print_privacy
from datamoat.cli.output import stdout


def _printed(evaluation: dict) -> str:
    with stdout.capture() as captured:
        print_privacy(evaluation)
    return captured.get()


def test_the_auc_is_printed_with_its_interval():
    line = _printed({"membership_inference": {"auc": 0.5161, "auc_ci": [0.5016, 0.5307]}})
    assert "AUC 0.516 [0.502, 0.531]" in line and "class-matched" in line


def test_without_an_interval_only_the_auc_is_printed():
    line = _printed({"membership_inference": {"auc": 0.61, "auc_ci": None}})
    assert "AUC 0.610 (0.5 = chance" in line and "[" not in line
    assert _printed({}) == ""
