"""Request and response bodies of the JSON API (pydantic models; they make the OpenAPI spec)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError


def utf8_text(value: str) -> str:
    """``value`` unchanged when it can be written as UTF-8; a 422 naming the field otherwise.

    JSON may carry lone surrogates (``"\\ud800"``) that no tokenizer, log or database can take;
    they are refused here, at the edge, before they reach a shared model call.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise PydanticCustomError(
            "utf8", "is not valid UTF-8 text (it holds a lone surrogate such as \\ud800)") from None
    return value


Text = Annotated[str, AfterValidator(utf8_text)]
"""A string that is valid UTF-8 (every text-taking request field uses it)."""


class PredictRequest(BaseModel):
    """Either ``text`` (one) or ``texts`` (a batch), not both."""

    model_config = ConfigDict(extra="forbid")
    text: Text | None = Field(default=None, description="One text to classify.")
    texts: list[Text] | None = Field(default=None, description="Several texts (at most the server's batch limit).")


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
    prediction_id: Text | None = Field(default=None, max_length=64)
    text: Text | None = None
    label: Text | None = Field(default=None, max_length=200, description="The correct label.")
    vote: Literal["up", "down"] | None = Field(default=None, description="Thumbs up (right) or down (wrong).")
    user: Text | None = Field(default=None, max_length=200, description="Who gave it (default: the key's name).")


class FeedbackResponse(BaseModel):
    record_id: int
    status: str = Field(description="ready (goes into the next retrain) | review | pending | discarded.")


class AnnotationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    record_id: int = Field(ge=1, le=2**63 - 1, description="A record id from /v1/queue.")
    label: Text | None = Field(default=None, max_length=200)
    status: Literal["draft", "submitted", "discarded"] = "submitted"


class RetrainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    wait: bool = Field(default=False, description="Answer only when the retrain has finished.")
