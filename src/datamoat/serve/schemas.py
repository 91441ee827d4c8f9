"""Request and response bodies of the JSON API (pydantic models; they make the OpenAPI spec)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from datamoat.privacy.pii.identifiers import IDENTIFIER_PATTERN


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


NOT_BLANK = r"[^\s\u001c-\u001f\u0085]"
"""A pattern a text matches when ``str.strip()`` leaves something (Python also strips \\x1c-\\x1f, \\x85)."""


def _present(name: str, schema: dict) -> dict:
    return {"required": [name], "properties": {name: schema}}


def _predict_rules(schema: dict) -> None:
    schema["oneOf"] = [_present("text", {"type": "string"}), _present("texts", {"type": "array"})]


def _feedback_rules(schema: dict) -> None:
    schema["allOf"] = [
        {"anyOf": [_present("prediction_id", {"type": "string"}),
                   _present("text", {"type": "string", "pattern": NOT_BLANK}),
                   _present("generation_id", {"type": "string"})]},
        {"anyOf": [_present("label", {"type": "string"}), _present("vote", {"enum": ["up", "down"]}),
                   _present("continuation", {"type": "string", "pattern": NOT_BLANK})]},
    ]
    for name, rule in (("user", {"pattern": IDENTIFIER_PATTERN}), ("prediction_id", {"minLength": 1})):
        for option in schema["properties"][name].get("anyOf", [schema["properties"][name]]):
            if option.get("type") == "string":
                option.update(rule)


def _annotation_rules(schema: dict) -> None:
    schema["allOf"] = [{"anyOf": [_present("status", {"const": "discarded"}),
                                  _present("label", {"type": "string", "pattern": NOT_BLANK})]}]


class PredictRequest(BaseModel):
    """Either ``text`` (one) or ``texts`` (a batch), not both."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_predict_rules)
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
    """A correction or a vote on a prediction (``prediction_id``), or a labelled ``text``; or a
    vote and/or a corrected ``continuation`` on a language model's generation (``generation_id``).

    ``label`` must be one of the served model's labels, unless an admin key sets ``new_class``.
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra=_feedback_rules)
    new_class: bool = Field(default=False, description="The label is a new class on purpose (admin keys only).")
    prediction_id: Text | None = Field(default=None, max_length=64)
    text: Text | None = None
    label: Text | None = Field(default=None, max_length=200, description="The correct label.")
    vote: Literal["up", "down"] | None = Field(default=None, description="Thumbs up (right) or down (wrong).")
    user: Text | None = Field(default=None, max_length=200, description=(
        "Who gave it (default: the key's name): no '@' and at most 6 digits, never personal data."))
    generation_id: Text | None = Field(default=None, max_length=64, description=(
        "A language model's generation (from /v1/generate): send a vote and/or a corrected continuation."))
    continuation: Text | None = Field(default=None, max_length=20_000, description=(
        "The text that should have followed the generation's prompt (trained on by the next retrain)."))


class FeedbackResponse(BaseModel):
    record_id: int
    status: str = Field(description="ready (goes into the next retrain) | review | pending | discarded.")
    updated: bool = Field(default=False, description="True when this replaced the caller's earlier answer.")
    previous_label: str | None = Field(default=None, description="The label the replaced answer stood for.")


class AnnotationRequest(BaseModel):
    """An answer to a queue item; ``label`` as in :class:`FeedbackRequest` (``new_class``: admins only)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_annotation_rules)
    new_class: bool = Field(default=False, description="The label is a new class on purpose (admin keys only).")
    record_id: int = Field(ge=1, le=2**53 - 1, description="A record id from /v1/queue (JSON-safe: at most 2**53 - 1).")
    label: Text | None = Field(default=None, max_length=200)
    status: Literal["draft", "submitted", "discarded"] = "submitted"


class RetrainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    wait: bool = Field(default=False, description="Answer only when the retrain has finished.")
