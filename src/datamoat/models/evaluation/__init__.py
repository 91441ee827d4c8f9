"""Evaluation: metrics with confidence intervals, calibration, significance tests, comparison, explanations, HTML reports."""
