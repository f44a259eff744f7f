"""JSON Schema from Python type hints and docstrings, and JSON values back
into the Python values the hints describe.

Supported hints: ``str``, ``int``, ``float``, ``bool``, ``None``,
``list[T]``, ``tuple[T, ...]``, ``set[T]``, ``dict[str, T]``,
``Optional[T]`` / ``T | None``, unions, ``Literal[...]`` and ``Enum``
subclasses (an ``enum``), dataclasses and ``TypedDict`` classes (nested
objects), ``Annotated[T, "description"]``, and ``Any`` (no constraint).
Schemas are computed once, when the module is imported, which for a
component happens while it is built: a call pays only for :func:`convert`.

Descriptions come from Google-style docstrings: the first paragraph
describes the tool, an ``Args:`` section (``Attributes:`` for a dataclass
or TypedDict) describes each argument or field.
"""

import collections.abc
import dataclasses
import enum
import functools
import inspect
import json
import re
import types
import typing
from typing import Any, Literal, NamedTuple, Union

from .errors import InvalidParams

_NONE = type(None)
_PRIMITIVES = {str: "string", int: "integer", float: "number", bool: "boolean", _NONE: "null"}
_LISTS = (list, tuple, set, frozenset, collections.abc.Sequence, collections.abc.Set,
          collections.abc.Iterable, collections.abc.MutableSequence)
_DICTS = (dict, collections.abc.Mapping, collections.abc.MutableMapping)
_SECTION = re.compile(r"^(Args|Arguments|Parameters|Attributes|Fields):\s*$")
_OTHER_SECTION = re.compile(r"^[A-Z][A-Za-z ]*:\s*$")
_ITEM = re.compile(r"^\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """The first paragraph of ``doc`` (lines joined), and the descriptions of
    its ``Args:`` (or ``Attributes:``) entries by name."""
    if not doc:
        return "", {}
    lines = inspect.cleandoc(doc).splitlines()
    para: list[str] = []
    for line in lines:
        text = line.strip()
        if not text and not para:
            continue
        if not text or _OTHER_SECTION.match(text):
            break
        para.append(text)
    entries: dict[str, str] = {}
    section_indent = item_indent = current = None
    for line in lines:
        text = line.strip()
        indent = len(line) - len(line.lstrip())
        if _SECTION.match(text):
            section_indent, item_indent, current = indent, None, None
        elif not text or section_indent is None:
            continue
        elif indent <= section_indent:
            section_indent = None
        elif (m := _ITEM.match(text)) and (item_indent is None or indent <= item_indent):
            item_indent, current = indent, m.group(1)
            entries[current] = m.group(2).strip()
        elif current is not None:
            entries[current] = (entries[current] + " " + text).strip()
    return " ".join(para), entries


class Field(NamedTuple):
    """One property of an object schema: a tool argument or a class field."""

    name: str
    hint: Any
    required: bool
    default: Any = inspect.Parameter.empty
    description: str | None = None


def function_fields(fn, docs: dict[str, str]) -> tuple[list[Field], bool]:
    """The arguments of ``fn`` as fields, and whether it takes ``**kwargs``.
    An argument is required unless it has a default or is ``Optional``."""
    hints = typing.get_type_hints(fn, include_extras=True)
    fields, kwargs = [], False
    for p in inspect.signature(fn).parameters.values():
        if p.kind is p.VAR_KEYWORD:
            kwargs = True
            continue
        if p.kind in (p.VAR_POSITIONAL, p.POSITIONAL_ONLY):
            raise TypeError(f"{fn.__name__}: argument {p.name} must be passable by name")
        hint = hints.get(p.name, Any)
        required = p.default is p.empty and not is_optional(hint)
        fields.append(Field(p.name, hint, required, p.default, docs.get(p.name)))
    return fields, kwargs


def object_schema(fields: list[Field], _depth: int = 0) -> dict:
    """An object schema with one property per field."""
    props = {}
    for f in fields:
        try:
            s = schema_for(f.hint, _depth)
        except TypeError as e:
            raise TypeError(f"{f.name}: {e}") from None
        if f.description:
            s = {"description": f.description, **{k: v for k, v in s.items() if k != "description"}}
        default = _json_or_none(f.default)
        if default is not None:
            s["default"] = default
        props[f.name] = s
    schema: dict = {"type": "object", "properties": props}
    required = [f.name for f in fields if f.required]
    if required:
        schema["required"] = required
    return schema


@functools.cache
def class_fields(cls) -> list[Field]:
    """The fields of a dataclass or TypedDict, described by its docstring."""
    hints = typing.get_type_hints(cls, include_extras=True)
    _, docs = parse_docstring(cls.__doc__)
    if dataclasses.is_dataclass(cls):
        out = []
        for f in dataclasses.fields(cls):
            if not f.init:
                continue
            has_default = f.default is not dataclasses.MISSING
            has_factory = f.default_factory is not dataclasses.MISSING
            required = not (has_default or has_factory or is_optional(hints[f.name]))
            default = f.default if has_default else inspect.Parameter.empty
            out.append(Field(f.name, hints[f.name], required, default, docs.get(f.name)))
        return out
    required_keys = getattr(cls, "__required_keys__", frozenset(hints))
    hints = {n: _strip_qualifiers(h) for n, h in hints.items()}
    return [Field(n, h, n in required_keys and not is_optional(h), description=docs.get(n))
            for n, h in hints.items()]


def _strip_qualifiers(hint):
    """``T`` for ``Required[T]``, ``NotRequired[T]`` and ``ReadOnly[T]``."""
    qualifiers = {typing.Required, typing.NotRequired, getattr(typing, "ReadOnly", None)}
    while typing.get_origin(hint) in qualifiers - {None}:
        hint = typing.get_args(hint)[0]
    return hint


def is_optional(hint) -> bool:
    """Whether ``hint`` admits ``None``."""
    if typing.get_origin(hint) is typing.Annotated:
        return is_optional(typing.get_args(hint)[0])
    return _is_union(hint) and _NONE in typing.get_args(hint)


def _is_union(hint) -> bool:
    return typing.get_origin(hint) in (Union, types.UnionType)


def _is_class(hint) -> bool:
    return isinstance(hint, type) and (dataclasses.is_dataclass(hint) or typing.is_typeddict(hint))


def schema_for(hint, _depth: int = 0) -> dict:
    """The JSON Schema of values of type ``hint``.

    Raises:
        TypeError: for a hint JSON Schema cannot express (or a recursive type).
    """
    if _depth > 16:
        raise TypeError(f"{hint!r} nests too deeply (recursive types are not supported)")
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    deeper = _depth + 1
    if origin is typing.Annotated:
        s = schema_for(args[0], deeper)
        notes = [m for m in args[1:] if isinstance(m, str)]
        return {"description": notes[-1], **s} if notes else s
    if hint in (inspect.Parameter.empty, Any, object):
        return {}
    if hint in _PRIMITIVES:
        return {"type": _PRIMITIVES[hint]}
    if origin is Literal:
        return _enum(list(args))
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return _enum([m.value for m in hint])
    if _is_union(hint):
        options = [a for a in args if a is not _NONE]
        if len(options) == 1:
            s = schema_for(options[0], deeper)
        else:
            s = {"anyOf": [schema_for(o, deeper) for o in options]}
        return _nullable(s) if len(options) < len(args) else s
    if hint in _LISTS or origin in _LISTS:
        s: dict = {"type": "array"}
        kind = origin or hint
        if kind is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
            s.update(prefixItems=[schema_for(a, deeper) for a in args],
                     minItems=len(args), maxItems=len(args))
        elif args:
            s["items"] = schema_for(args[0], deeper)
        if kind in (set, frozenset, collections.abc.Set):
            s["uniqueItems"] = True
        return s
    if hint in _DICTS or origin in _DICTS:
        if args and args[0] is not str:
            raise TypeError(f"{hint!r}: JSON object keys are strings")
        return {"type": "object", "additionalProperties": schema_for(args[1], deeper)} if args \
            else {"type": "object"}
    if _is_class(hint):
        s = object_schema(class_fields(hint), deeper)
        about = class_description(hint)
        return {"description": about, **s} if about else s
    raise TypeError(
        f"berth cannot describe {hint!r} in JSON Schema; use str, int, float, bool, "
        "list, dict, Optional, Literal, an Enum, a dataclass or a TypedDict"
    )


def class_description(cls) -> str:
    """The first paragraph of a class's own docstring (not the one
    ``dataclass`` makes up from the signature)."""
    doc = cls.__doc__ or ""
    if doc.startswith(cls.__name__ + "("):
        return ""
    return parse_docstring(doc)[0]


def _enum(values: list) -> dict:
    kinds = {_PRIMITIVES.get(type(v)) for v in values}
    s: dict = {"enum": values}
    if len(kinds) == 1 and None not in kinds:
        s = {"type": kinds.pop(), **s}
    return s


def _nullable(s: dict) -> dict:
    if isinstance(s.get("type"), str):
        s = {**s, "type": [s["type"], "null"]}
        if "enum" in s:
            s["enum"] = [*s["enum"], None]
        return s
    if "anyOf" in s:
        return {**s, "anyOf": [*s["anyOf"], {"type": "null"}]}
    return {"anyOf": [s, {"type": "null"}]} if s else s


# --- JSON values -> Python values -------------------------------------------

def convert(value, hint, path: str):
    """``value`` (parsed JSON) as a value of type ``hint``: dataclasses,
    TypedDicts, enums, tuples and sets are built, numbers checked.

    Raises:
        InvalidParams: naming ``path`` when ``value`` does not fit.
    """
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Annotated:
        return convert(value, args[0], path)
    if hint in (inspect.Parameter.empty, Any, object):
        return value
    if hint is _NONE:
        return _check(value is None, value, "null", path)
    if hint is str:
        return _check(isinstance(value, str), value, "a string", path)
    if hint is bool:
        return _check(isinstance(value, bool), value, "true or false", path)
    if hint is int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return _check(isinstance(value, int) and not isinstance(value, bool), value,
                      "an integer", path)
    if hint is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return float(_check(ok, value, "a number", path))
    if origin is Literal:
        ok = any(value == a and type(value) is type(a) for a in args)
        return _check(ok, value, "one of " + ", ".join(json.dumps(a) for a in args), path)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            return hint(value)
        except ValueError:
            return _check(False, value, "one of " + ", ".join(
                json.dumps(m.value) for m in hint), path)
    if _is_union(hint):
        if value is None and _NONE in args:
            return None
        for option in args:
            try:
                return convert(value, option, path)
            except InvalidParams:
                continue
        return _check(False, value, "of another type", path)
    if hint in _LISTS or origin in _LISTS:
        _check(isinstance(value, list), value, "an array", path)
        kind = origin or hint
        if kind is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
            _check(len(value) == len(args), value, f"an array of {len(args)} items", path)
            pairs = enumerate(zip(value, args, strict=True))
            return tuple(convert(v, a, f"{path}[{i}]") for i, (v, a) in pairs)
        items = [convert(v, args[0], f"{path}[{i}]") if args else v for i, v in enumerate(value)]
        if kind in (set, frozenset, collections.abc.Set):
            return kind(items) if kind is not collections.abc.Set else frozenset(items)
        return tuple(items) if kind is tuple else items
    if hint in _DICTS or origin in _DICTS:
        _check(isinstance(value, dict), value, "an object", path)
        return {k: convert(v, args[1], f"{path}.{k}") for k, v in value.items()} if args \
            else value
    if _is_class(hint):
        _check(isinstance(value, dict), value, "an object", path)
        return build(hint, value, path)
    return value


def values_for(fields: list[Field], values: dict, path: str = "") -> dict:
    """The converted value of each field given in JSON ``values`` (unknown
    keys are dropped); ``None`` for a missing ``Optional`` field without a
    default.

    Raises:
        InvalidParams: for a missing required field or a value that does not fit.
    """
    out = {}
    for f in fields:
        where = f"{path}.{f.name}" if path else f.name
        if f.name in values:
            out[f.name] = convert(values[f.name], f.hint, where)
        elif f.required:
            raise InvalidParams(f"`{where}` is required")
        elif f.default is inspect.Parameter.empty:
            out[f.name] = None
    return out


def build(cls, values: dict, path: str = ""):
    """An instance of dataclass ``cls`` (or, for a TypedDict, the dict) from
    JSON ``values``."""
    if typing.is_typeddict(cls):
        fields = [f for f in class_fields(cls) if f.name in values or f.required]
        return {**values, **values_for(fields, values, path)}
    return cls(**values_for(class_fields(cls), values, path))


def _check(ok: bool, value, what: str, path: str):
    if not ok:
        raise InvalidParams(f"`{path or 'arguments'}` must be {what}, not {_short(value)}")
    return value


def _short(value) -> str:
    text = json.dumps(value, default=repr)
    return text if len(text) <= 40 else text[:37] + "..."


def dumps(value) -> str:
    """Compact JSON, byte-compatible with Rust's ``serde_json::to_string``
    for the usual values; dataclasses, enums, tuples and sets are converted."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False, default=_jsonable)


def _jsonable(value):
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _json_or_none(value):
    if value is inspect.Parameter.empty or value is None:
        return None
    try:
        return json.loads(dumps(value))
    except (TypeError, ValueError):
        return None


def convert_text(value: str, hint, path: str):
    """A string argument (of a prompt or a URI template) as type ``hint``:
    ``int``, ``float`` and ``bool`` are parsed, anything else is checked by
    :func:`convert`.

    Raises:
        InvalidParams: naming ``path`` when ``value`` does not fit.
    """
    base = hint
    while typing.get_origin(base) is typing.Annotated or (
            is_optional(base) and len(typing.get_args(base)) == 2):
        base = next(a for a in typing.get_args(base) if a is not _NONE)
    try:
        if base is int:
            return int(value)
        if base is float:
            return float(value)
        if base is bool and value.lower() in ("true", "false"):
            return value.lower() == "true"
    except ValueError:
        pass
    return convert(value, hint, path)
