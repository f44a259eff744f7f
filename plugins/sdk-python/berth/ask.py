"""Asking the client in the middle of a call: the user (elicitation), the
client's model (sampling) or its roots.

Each question is a round trip through berth. The first time a handler
asks, the SDK stops it and returns the question as WIT ``input-required``;
berth asks the client (a request to legacy clients, an ``input_required``
result in the 2026-07-28 era) and calls the handler again, from the start,
with the same arguments. This time the same question returns the answer
at once, so a handler reads straight through::

    @tool
    def greet() -> str:
        \"\"\"Greets the user by the name they give.\"\"\"
        answer = elicit("What is your name?", {"name": str})
        if not answer.accepted:
            return "Hello, stranger!"
        return f"Hello, {answer.content['name']}!"

Because the handler runs again, do nothing irreversible before the last
question. Answers of earlier rounds travel in the round's state (signed by
berth, readable by the client), so a handler may ask several questions in
turn. Check :func:`berth.client_supports` first to offer a fallback: asking
a client that cannot answer fails the request.

The stop is a ``BaseException`` (:class:`NeedInput`), so ``except
Exception`` in a handler does not swallow it.
"""

import json
from dataclasses import dataclass
from typing import Any

from . import _wit
from .schema import Field, build, class_fields, object_schema, values_for, dumps, _is_class

_T = _wit.types


class NeedInput(BaseException):
    """Stops a handler that asked a question not yet answered."""

    def __init__(self, key: str, request, answers: dict):
        super().__init__(key)
        self.key, self.request, self.answers = key, request, answers

    def to_wit(self):
        """The WIT ``input-required`` for this question."""
        state = dumps({"answers": self.answers}) if self.answers else None
        return _T.InputRequired(requests=[(self.key, self.request)], state=state)


class _Round:
    """The answers this call was made with, and how many questions it asked."""

    def __init__(self, answers: dict):
        self.answers = answers
        self.asked = 0


_round = _Round({})


def begin(input) -> None:
    """Starts a call with the WIT ``input-answers`` it got (or ``None``)."""
    global _round
    answers: dict = {}
    if input is not None:
        if input.state:
            try:
                answers.update(json.loads(input.state).get("answers", {}))
            except (ValueError, AttributeError):
                pass  # not ours: start over
        for key, text in input.answers:
            try:
                answers[key] = json.loads(text)
            except ValueError:
                answers[key] = None
    _round = _Round(answers)


def _ask(key: str | None, request) -> Any:
    if key is None:
        key = f"q{_round.asked}"
    _round.asked += 1
    if key in _round.answers:
        return _round.answers[key]
    raise NeedInput(key, request, _round.answers)


@dataclass
class Elicited:
    """What the user did with a question.

    Attributes:
        action: ``"accept"``, ``"decline"`` or ``"cancel"``.
        content: The answer when accepted: a dict, or an instance of the
            dataclass / TypedDict the question was asked with.
    """

    action: str
    content: Any = None

    @property
    def accepted(self) -> bool:
        """Whether the user answered."""
        return self.action == "accept"


def elicit(message: str, schema, *, key: str | None = None) -> Elicited:
    """Asks the user ``message``; ``schema`` describes the answer: a dict of
    field names to types (``{"name": str, "age": int}``), a dataclass or
    TypedDict, or a JSON Schema (a flat object of primitive properties, as
    MCP requires). ``key`` names the question (default: its position).

    Raises:
        InvalidParams: when the answer does not fit ``schema``.
    """
    fields, cls = None, None
    if _is_class(schema):
        cls, fields = schema, class_fields(schema)
    elif isinstance(schema, dict) and schema and all(_is_type(v) for v in schema.values()):
        fields = [Field(n, h, True) for n, h in schema.items()]
    requested = object_schema(fields) if fields is not None else schema
    params = dumps({"message": message, "requestedSchema": requested})
    answer = _ask(key, _T.InputRequest_Elicitation(params)) or {}
    action = answer.get("action", "cancel")
    if action != "accept":
        return Elicited(action)
    content = answer.get("content") or {}
    if cls is not None:
        content = build(cls, content, "answer")
    elif fields is not None:
        content = values_for(fields, content, "answer")
    return Elicited("accept", content)


def _is_type(value) -> bool:
    return not isinstance(value, (str, dict, list, int, float, bool)) and value is not None


def sample(prompt: str, *, max_tokens: int = 512, system: str | None = None,
           key: str | None = None) -> str:
    """Asks the client's model ``prompt`` (as the user); returns the text of
    its answer ("" when it answered with something else)."""
    params: dict = {
        "messages": [{"role": "user", "content": {"type": "text", "text": prompt}}],
        "maxTokens": max_tokens,
    }
    if system is not None:
        params["systemPrompt"] = system
    content = (sample_raw(params, key=key) or {}).get("content")
    if isinstance(content, list):
        texts = [b for b in content if isinstance(b, dict) and b.get("type") == "text"]
        content = texts[0] if texts else None
    return content.get("text", "") if isinstance(content, dict) else ""


def sample_raw(params: dict, *, key: str | None = None) -> dict:
    """Asks the client's model with the params of ``sampling/createMessage``;
    returns its ``CreateMessageResult``."""
    return _ask(key, _T.InputRequest_Sampling(dumps(params)))


def roots(*, key: str | None = None) -> list[str]:
    """The URIs of the client's roots (``roots/list``)."""
    answer = _ask(key, _T.InputRequest_Roots()) or {}
    return [r["uri"] for r in answer.get("roots", []) if isinstance(r, dict) and "uri" in r]
