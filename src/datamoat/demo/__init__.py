"""Synthetic support-ticket data with known truth, for demos and for scoring datamoat's checks.

``generate_demo_data(out_dir, n_tickets=3000, seed=0)`` writes ``tickets.csv``,
``customers.csv`` and ``truth.json`` (see :mod:`datamoat.demo.generate`).
"""

from datamoat.demo.generate import generate_demo_data

__all__ = ["generate_demo_data"]
