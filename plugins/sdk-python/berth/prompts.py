"""Prompts (world ``plugin``): templates a user picks, rendered by a
decorated function into messages; and completion of their arguments.

    @prompt
    def review(code: str, language: Literal["python", "rust"] = "python") -> str:
        \"\"\"Asks for a code review.

        Args:
            code: The code to review.
            language: Its language.
        \"\"\"
        return f"Please review this {language} code:\\n\\n{code}"

Arguments arrive as strings; ``int``, ``float`` and ``bool`` hints are
parsed, ``Literal`` and ``Enum`` hints checked (and completed
automatically). A prompt returns ``str`` (one user message), a message
from :func:`user` / :func:`assistant`, or a list of them. Like a tool, it
may ask the client first (:mod:`berth.ask`).
"""

import enum
import inspect
import typing
from dataclasses import dataclass

from . import _wit, ask
from .content import is_content, text
from .errors import InvalidParams, NotFound
from .schema import Field, _is_union, convert_text, function_fields, parse_docstring

#: Most completion values berth passes on.
MAX_COMPLETIONS = 100


@dataclass
class Prompt:
    """A registered prompt and its function."""

    name: str
    title: str | None
    description: str | None
    fields: list[Field]
    fn: object


PROMPTS: dict[str, Prompt] = {}
COMPLETERS: dict[tuple, object] = {}


def prompt(fn=None, *, name: str | None = None, title: str | None = None,
           description: str | None = None):
    """Registers a function as a prompt; use as ``@prompt`` or
    ``@prompt(...)``. Its arguments are the prompt's; those without a
    default (and not ``Optional``) are required."""

    def register(fn):
        prompt_name = name or fn.__name__
        if prompt_name in PROMPTS:
            raise ValueError(f"two prompts are named {prompt_name!r}")
        about, docs = parse_docstring(fn.__doc__)
        fields, _ = function_fields(fn, docs)
        PROMPTS[prompt_name] = Prompt(prompt_name, title, description or about or None, fields, fn)
        return fn

    return register(fn) if fn is not None else register


def _message(role, content):
    block = text(content) if isinstance(content, str) else content
    if not is_content(block):
        raise TypeError(f"a prompt message holds a str or a content block, not {type(content)}")
    return _wit.prompts.PromptMessage(role=role, content=block)


def user(content):
    """A message from the user: a ``str`` or a content block."""
    return _message(_wit.types.Role.USER, content)


def assistant(content):
    """A message from the assistant: a ``str`` or a content block."""
    return _message(_wit.types.Role.ASSISTANT, content)


def list_prompts() -> list:
    """The descriptors of every registered prompt, for ``list-prompts``."""
    wit = _wit.prompts
    return [wit.Prompt(
        name=p.name, title=p.title, description=p.description, icons=[],
        arguments=[wit.PromptArgument(name=f.name, title=None, description=f.description,
                                      required=f.required) for f in p.fields])
        for p in PROMPTS.values()]


def get_prompt(name: str, arguments: list, input):
    """Renders the prompt ``name``, for ``get-prompt``.

    Raises:
        NotFound: for an unknown prompt.
        InvalidParams: for a missing required argument or one that does not fit.
    """
    p = PROMPTS.get(name)
    if p is None:
        raise NotFound(f"no prompt named {name}")
    given = dict(arguments)
    kwargs = {}
    for f in p.fields:
        if f.name in given:
            kwargs[f.name] = convert_text(given[f.name], f.hint, f.name)
        elif f.required:
            raise InvalidParams(f"prompt {name} needs the argument {f.name}")
        elif f.default is inspect.Parameter.empty:
            kwargs[f.name] = None  # Optional without a default
    ask.begin(input)
    try:
        value = p.fn(**kwargs)
    except ask.NeedInput as question:
        return _wit.prompts.PromptOutcome_Input(question.to_wit())
    items = value if isinstance(value, list) else [value]
    messages = [m if isinstance(m, _wit.prompts.PromptMessage) else user(m) for m in items]
    return _wit.prompts.PromptOutcome_Done(
        _wit.prompts.PromptResult(description=None, messages=messages))


def completer(argument: str, *, prompt: str | None = None, template: str | None = None):
    """Registers a function suggesting values for ``argument`` of the prompt
    named ``prompt`` (or the variable of the resource template ``template``).
    It takes the partial value (and, if it takes two arguments, a dict of
    the arguments already given) and returns suggestions, best first."""
    if (prompt is None) == (template is None):
        raise ValueError("completer: give exactly one of prompt= and template=")

    def register(fn):
        COMPLETERS[("prompt" if prompt else "template", prompt or template, argument)] = fn
        return fn

    return register


def complete(reference, argument: str, value: str, context: list):
    """Suggestions for ``argument``, for ``complete``: from a
    ``@completer``, else a prompt argument's ``Literal`` or ``Enum``
    choices that start with ``value``; at most :data:`MAX_COMPLETIONS`."""
    is_prompt = isinstance(reference, _wit.completion.Reference_Prompt)
    key = ("prompt" if is_prompt else "template", reference.value, argument)
    fn = COMPLETERS.get(key)
    if fn is not None:
        takes_context = len(inspect.signature(fn).parameters) >= 2
        values = list(fn(value, dict(context)) if takes_context else fn(value))
    else:
        values = [v for v in _choices(key) if v.startswith(value)]
    return _wit.completion.CompletionResult(
        values=[str(v) for v in values[:MAX_COMPLETIONS]],
        total=len(values), has_more=len(values) > MAX_COMPLETIONS)


def _choices(key: tuple) -> list[str]:
    kind, name, argument = key
    p = PROMPTS.get(name) if kind == "prompt" else None
    f = next((f for f in p.fields if f.name == argument), None) if p else None
    hint = f.hint if f else None
    while typing.get_origin(hint) is typing.Annotated or _is_union(hint):
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    if typing.get_origin(hint) is typing.Literal:
        return [str(a) for a in typing.get_args(hint)]
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return [str(m.value) for m in hint]
    return []
