"""The train / select / evaluate / compress stages of the loop.

- :mod:`~datamoat.models.trainers`: the Trainer contract, its registry and one module per kind;
- :mod:`~datamoat.models.select`: model selection within a deadline;
- :mod:`~datamoat.models.training`: split -> select -> evaluate -> register -> report;
- :mod:`~datamoat.models.evaluation`: metrics, calibration, significance, comparison, reports;
- :mod:`~datamoat.models.export`: int8/ONNX compression, Hugging Face export, MLflow;
- :mod:`~datamoat.models.registry`: model versions, aliases and lineage in the catalog.
"""
