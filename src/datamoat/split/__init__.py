"""The split stage: leakage-free, stratified train / valid / test assignment and its report, and the take_split step."""
