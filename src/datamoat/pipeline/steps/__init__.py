"""Built-in pipeline steps; importing this package registers them."""

from datamoat.pipeline.steps import basic

__all__ = ["basic"]
