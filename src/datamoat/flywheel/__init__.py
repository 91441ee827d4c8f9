"""The data flywheel: feedback -> new dataset version -> clean -> retrain -> compare -> promote.

``retrain(ws, "tickets")`` runs one turn of the loop and returns the recorded
:class:`RetrainDecision`; ``list_decisions(ws.catalog, "tickets")`` lists them, newest first.
"""

from datamoat.flywheel.decisions import RetrainDecision, list_decisions
from datamoat.flywheel.merge import MergeResult, feedback_row_id, merge_feedback
from datamoat.flywheel.retrain import retrain

__all__ = ["MergeResult", "RetrainDecision", "feedback_row_id", "list_decisions", "merge_feedback", "retrain"]
