"""Request and response bodies of the JSON API (pydantic models; they make the OpenAPI spec)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class PredictRequest(BaseModel):
    """Either ``text`` (one) or ``texts`` (a batch), not both."""

    model_config = ConfigDict(extra="forbid")
    text: str | None = Field(default=None, description="One text to classify.")
    texts: list[str] | None = Field(default=None, description="Several texts (at most the server's batch limit).")


class ModelRef(BaseModel):
    name: str
    version: int
    ref: str


class Prediction(BaseModel):
    prediction_id: str = Field(description="Send it back with /v1/feedback.")
    label: str
    score: float = Field(description="Probability of the label (0-1).")
    scores: dict[str, float] = Field(description="The most likely labels with their probabilities.")
    model: ModelRef


class PredictResponse(BaseModel):
    predictions: list[Prediction]
    latency_ms: float = Field(description="Server time for this request (milliseconds).")


class FeedbackRequest(BaseModel):
    """A correction or a vote on a prediction (``prediction_id``), or a labelled ``text``."""

    model_config = ConfigDict(extra="forbid")
    prediction_id: str | None = Field(default=None, max_length=64)
    text: str | None = None
    label: str | None = Field(default=None, max_length=200, description="The correct label.")
    vote: Literal["up", "down"] | None = Field(default=None, description="Thumbs up (right) or down (wrong).")
    user: str | None = Field(default=None, max_length=200, description="Who gave it (default: the key's name).")


class FeedbackResponse(BaseModel):
    record_id: int
    status: str = Field(description="ready (goes into the next retrain) | review | pending | discarded.")


class AnnotationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    record_id: int = Field(ge=1, le=2**63 - 1, description="A record id from /v1/queue.")
    label: str | None = Field(default=None, max_length=200)
    status: Literal["draft", "submitted", "discarded"] = "submitted"


class RetrainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    wait: bool = Field(default=False, description="Answer only when the retrain has finished.")
