"""Trainers: the Trainer contract and registry, and one module per model kind (text and tabular)."""
