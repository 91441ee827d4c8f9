"""Model evaluation: metrics, calibration and significance tests over labels and probabilities."""
