"""Export: int8/ONNX compression, Hugging Face export with a model card, MLflow logging."""
