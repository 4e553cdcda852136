import math

from tune_flow.report.numbers import format_value


def test_tables_show_four_significant_digits():
    assert format_value(1.4272977113723755) == "1.427"
    assert format_value(0.002035637173145389) == "0.002036"
    assert format_value("0.002035637173145389") == "0.002036"  # a trials.csv cell
    assert format_value(math.inf) == "inf" and format_value(math.nan) == "nan"


def test_integers_and_text_are_left_alone():
    assert format_value(256) == "256" and format_value("256") == "256"
    assert format_value("asha") == "asha" and format_value("") == ""


def test_a_missing_sample_metric_shows_as_a_dash():
    from tune_flow.report.numbers import format_sample_metric

    assert format_sample_metric(math.nan) == "-" and format_sample_metric(0.22081) == "0.2208"
