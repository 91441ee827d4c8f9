"""Cleaning steps (registered pipeline steps that change data or drop rows, with reasons)."""
