"""report.page: the chosen model's paragraph says how the final selection scored it."""

from tune_flow.report.page import _best_eval_html

EVALUATION = {
    "trial_id": "abc123", "epoch": 12, "eval_samples": 1250, "w2": 0.05, "energy_distance": 0.01,
    "floor": {"w2": 0.04}, "solver": {"method": "dopri5"},
}  # fmt: skip
SELECTION = {
    "metric": "w2", "draws": 3,
    "candidates": [{"n": 5000, "weights": "latest"}, {"n": 5000, "weights": "best_w2"}],
}  # fmt: skip


def test_the_close_call_rule_is_named_when_the_selection_used_it():
    text = _best_eval_html({**EVALUATION, "selection": {**SELECTION, "close_call": 0.05}})
    assert "(5000 generated points x 3 source draws for those within 5% of the best after the " \
        "first, 1 for the rest)" in text  # fmt: skip
    assert "<code>latest</code> weights" in text


def test_a_selection_written_before_close_calls_reads_as_before():
    text = _best_eval_html({**EVALUATION, "selection": SELECTION})
    assert "(5000 generated points x 3 source draws): <code>latest</code>" in text
