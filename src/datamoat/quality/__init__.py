"""Data quality: checks that find what is wrong with a dataset, and the profile report."""
