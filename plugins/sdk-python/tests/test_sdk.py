"""Unit tests of the Python SDK in plain CPython (3.11+), against the
bindings componentize-py generates and a fake host.

    python3 -m unittest discover -s plugins/sdk-python/tests

They need componentize-py (for ``componentize-py bindings``): set
COMPONENTIZE_PY_PATH to its install dir (default
~/.cache/berth/toolchains/componentize-py-0.25.1); without it they skip.
"""

import io
import json
import os
import subprocess
import sys
import tempfile
import unittest
from contextlib import redirect_stderr
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Annotated, Literal, Optional, TypedDict

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent.parent
TOOLCHAIN = os.environ.get(
    "COMPONENTIZE_PY_PATH", str(Path.home() / ".cache/berth/toolchains/componentize-py-0.25.1"))


def _bindings() -> str | None:
    """Generates the world-`plugin` bindings into a temporary directory."""
    if not Path(TOOLCHAIN, "componentize_py").is_dir():
        return None
    out = tempfile.mkdtemp(prefix="berth-py-bindings-")
    subprocess.run(
        [sys.executable, "-c", "import sys; from componentize_py import script; sys.exit(script())",
         "-d", str(REPO / "wit"), "-w", "plugin", "bindings", out],
        check=True, env={**os.environ, "PYTHONPATH": TOOLCHAIN}, capture_output=True)
    return out


BINDINGS = _bindings()
if BINDINGS:
    sys.path[:0] = [BINDINGS, str(HERE.parent)]
    from componentize_py_types import Err
    from wit_world.imports import context, types

    import berth
    from berth import _exports, kv, schema, tools
    from berth.resources import match_template


class FakeHost:
    """Stands in for berth's `context` imports."""

    def __init__(self):
        self.store = {}
        self.logs = []
        self.features = {"ELICITATION"}
        for name in ("log", "progress", "cancelled", "principal", "kv_get", "kv_set",
                     "kv_delete", "kv_list", "client_supports", "resource_updated"):
            setattr(context, name, getattr(self, name))

    def log(self, level, message, data):
        self.logs.append((level.name.lower(), message, data))

    def progress(self, progress, total, message):
        self.logs.append(("progress", progress, total))

    def cancelled(self):
        return False

    def principal(self):
        return context.Identity("ada", "t", [])

    def kv_get(self, scope, key):
        return self.store.get((scope, key))

    def kv_set(self, scope, key, value, ttl):
        if not key:
            raise Err(context.KvError_InvalidKey("empty"))
        self.store[(scope, key)] = value

    def kv_delete(self, scope, key):
        return self.store.pop((scope, key), None) is not None

    def kv_list(self, scope, prefix):
        return sorted(k for s, k in self.store if s == scope and k.startswith(prefix))

    def client_supports(self, feature):
        return feature.name in self.features

    def resource_updated(self, uri):
        pass


def call(name, args=None, input=None):
    """Calls a registered tool through the export class, as berth would."""
    return _exports.Tools().call_tool(name, json.dumps(args or {}), input)


def text(outcome):
    return outcome.value.content[0].value.text


if BINDINGS:
    class Color(Enum):
        RED = "red"
        BLUE = "blue"

    @dataclass
    class Point:
        """A point.

        Attributes:
            x: Across.
            y: Up.
        """

        x: float
        y: float = 0.0

    class Stats(TypedDict):
        count: int

    @berth.tool(name="t_args", stateful=True, read_only=True, title="Args")
    def t_args(name: str, n: int, tags: list[str], mode: Literal["a", "b"], color: Color,
               at: Point, note: Optional[str], size: Annotated[int, "How big."] = 3) -> dict:
        """Echoes.

        More text that is not the description.

        Args:
            name: Who. Goes on
                over two lines.
            n (int): How many.
            tags: Tags.

        Returns:
            A dict.
        """
        return {"name": name, "n": n, "tags": tags, "mode": mode, "color": color,
                "at": at, "note": note, "size": size}

    @berth.tool
    def t_stats(values: list[float]) -> Stats:
        """Counts."""
        return Stats(count=len(values))

    @berth.tool
    def t_fail(kind: str) -> str:
        """Fails on purpose."""
        raise {"user": berth.UserError, "params": berth.InvalidParams,
               "missing": berth.NotFound, "denied": berth.Denied}[kind](f"no: {kind}")

    @berth.tool
    def t_bug() -> str:
        """Has a bug."""
        return {}["missing"]

    @berth.tool
    def t_count() -> int:
        """Counts in session state."""
        n = berth.kv.get("count", 0) + 1
        berth.kv.set("count", n)
        berth.log.info("counted", {"n": n})
        return n

    @berth.tool
    def t_ask() -> str:
        """Asks twice."""
        a = berth.elicit("Name?", {"name": str})
        if not a.accepted:
            return a.action
        b = berth.elicit("Where?", Point, key="where")
        return f"{a.content['name']} at {b.content.x:g}" if b.accepted else b.action

    @berth.prompt
    def p_review(code: str, times: int = 1, lang: Literal["py", "rs"] = "py") -> str:
        """Reviews.

        Args:
            code: The code.
        """
        return f"{lang} {code * times}"


@unittest.skipUnless(BINDINGS, "componentize-py not installed")
class SchemaTest(unittest.TestCase):
    def test_docstring_first_paragraph_and_args(self):
        about, docs = schema.parse_docstring(t_args.__doc__)
        self.assertEqual(about, "Echoes.")
        self.assertEqual(docs, {"name": "Who. Goes on over two lines.", "n": "How many.",
                                "tags": "Tags."})

    def test_descriptor_from_hints_and_docstring(self):
        d = tools.TOOLS["t_args"].descriptor
        self.assertEqual((d.name, d.title, d.description, d.stateful),
                         ("t_args", "Args", "Echoes.", True))
        self.assertTrue(d.annotations.read_only_hint)
        s = json.loads(d.input_schema)
        self.assertEqual(s["required"], ["name", "n", "tags", "mode", "color", "at"])
        p = s["properties"]
        self.assertEqual(p["name"],
                         {"description": "Who. Goes on over two lines.", "type": "string"})
        self.assertEqual(p["tags"]["items"], {"type": "string"})
        self.assertEqual(p["mode"], {"type": "string", "enum": ["a", "b"]})
        self.assertEqual(p["color"], {"type": "string", "enum": ["red", "blue"]})
        self.assertEqual(p["note"], {"type": ["string", "null"]})
        self.assertEqual(p["size"], {"description": "How big.", "type": "integer", "default": 3})
        self.assertEqual(p["at"]["required"], ["x"])
        self.assertEqual(p["at"]["properties"]["x"], {"description": "Across.", "type": "number"})

    def test_typeddict_return_is_the_output_schema(self):
        out = json.loads(tools.TOOLS["t_stats"].descriptor.output_schema)
        self.assertEqual(out, {"type": "object", "properties": {"count": {"type": "integer"}},
                               "required": ["count"]})
        self.assertIsNone(tools.TOOLS["t_args"].descriptor.output_schema)

    def test_unsupported_hint_fails_at_import(self):
        with self.assertRaises(TypeError):
            @berth.tool
            def bad(x: bytes) -> str:
                """Bad."""
        with self.assertRaises(ValueError):
            @berth.tool
            def undocumented() -> str:
                pass

    def test_kv_values_are_compact_json_like_serde(self):
        self.assertEqual(schema.dumps({"a": [1, 2.5, "é\n"], "b": None, "c": True}),
                         '{"a":[1,2.5,"é\\n"],"b":null,"c":true}')

    def test_uri_templates_match_like_the_host(self):
        self.assertEqual(match_template("test://template/{id}/data", "test://template/123/data"),
                         {"id": "123"})
        self.assertIsNone(match_template("test://template/{id}/data", "test://template//data"))
        self.assertIsNone(match_template("test://template/{id}/data", "test://template/1/2/data"))
        self.assertIsNone(match_template("notes://{id}", "notes://a/b"))
        self.assertIsNone(match_template("notes://{id}", "other://a"))
        self.assertEqual(match_template("a://{x}-{y}", "a://1-2"), {"x": "1", "y": "2"})


@unittest.skipUnless(BINDINGS, "componentize-py not installed")
class CallTest(unittest.TestCase):
    def setUp(self):
        self.host = FakeHost()

    def test_arguments_are_converted(self):
        out = call("t_args", {"name": "a", "n": 2.0, "tags": ["x"], "mode": "b", "color": "red",
                              "at": {"x": 1}})
        got = json.loads(out.value.structured_content)
        self.assertEqual(got, {"name": "a", "n": 2, "tags": ["x"], "mode": "b", "color": "red",
                               "at": {"x": 1.0, "y": 0.0}, "note": None, "size": 3})
        self.assertEqual(text(out), out.value.structured_content)

    def test_wrong_arguments_are_invalid_params(self):
        for args, message in [({"name": 1}, "`name` must be a string"),
                              ({"name": "a"}, "`n` is required"),
                              ({"name": "a", "n": 1, "tags": [1]}, "`tags[0]` must be a string")]:
            with self.assertRaises(Err) as e:
                call("t_args", args)
            self.assertIsInstance(e.exception.value, types.Error_InvalidParams)
            self.assertIn(message, e.exception.value.value)
        with self.assertRaises(Err) as e:
            _exports.Tools().call_tool("t_args", "{nope", None)
        self.assertIsInstance(e.exception.value, types.Error_InvalidParams)
        with self.assertRaises(Err) as e:
            call("nothing")
        self.assertIsInstance(e.exception.value, types.Error_NotFound)

    def test_user_errors_map_to_wit_variants(self):
        for kind, variant in [("user", types.Error_Failed), ("params", types.Error_InvalidParams),
                              ("missing", types.Error_NotFound), ("denied", types.Error_Denied)]:
            with self.assertRaises(Err) as e:
                call("t_fail", {"kind": kind})
            self.assertEqual(e.exception.value, variant(f"no: {kind}"))

    def test_a_bug_prints_its_traceback_and_aborts(self):
        aborted = []
        real = os.abort
        os.abort = lambda: aborted.append(True)
        try:
            err = io.StringIO()
            with redirect_stderr(err):
                call("t_bug")
        finally:
            os.abort = real
        self.assertEqual(aborted, [True])
        self.assertIn("tool t_bug raised an exception", err.getvalue())
        self.assertIn("KeyError: 'missing'", err.getvalue())

    def test_kv_state_and_logs(self):
        self.assertEqual([text(call("t_count")) for _ in range(3)], ["1", "2", "3"])
        self.assertEqual(self.host.store[(context.Scope.SESSION, "count")], b"3")
        self.assertEqual(self.host.logs[-1], ("info", "counted", '{"n":3}'))
        self.assertEqual(kv.keys(), ["count"])
        self.assertTrue(kv.delete("count"))
        with self.assertRaises(berth.UserError) as e:
            kv.set("", 1)
        self.assertEqual(e.exception.message, "invalid state key: empty")

    def test_elicitation_round_trips_carry_earlier_answers(self):
        first = call("t_ask")
        self.assertIsInstance(first, tools._wit.tools.ToolOutcome_Input)
        [(key, req)] = first.value.requests
        self.assertEqual(key, "q0")
        self.assertEqual(json.loads(req.value)["requestedSchema"]["properties"]["name"],
                         {"type": "string"})
        answers = types.InputAnswers([("q0", '{"action":"accept","content":{"name":"Ada"}}')],
                                     first.value.state)
        second = call("t_ask", input=answers)
        [(key, _)] = second.value.requests
        self.assertEqual(key, "where")
        answers = types.InputAnswers([("where", '{"action":"accept","content":{"x":3}}')],
                                     second.value.state)
        self.assertEqual(text(call("t_ask", input=answers)), "Ada at 3")
        declined = types.InputAnswers([("q0", '{"action":"decline"}')], None)
        self.assertEqual(text(call("t_ask", input=declined)), "decline")

    def test_prompts_convert_and_complete(self):
        p = _exports.Prompts()
        [desc] = [d for d in p.list_prompts() if d.name == "p_review"]
        self.assertEqual([(a.name, a.required, a.description) for a in desc.arguments],
                         [("code", True, "The code."), ("times", False, None),
                          ("lang", False, None)])
        out = p.get_prompt("p_review", [("code", "x"), ("times", "2")], None)
        self.assertEqual(out.value.messages[0].content.value.text, "py xx")
        with self.assertRaises(Err) as e:
            p.get_prompt("p_review", [("code", "x"), ("times", "two")], None)
        self.assertIsInstance(e.exception.value, types.Error_InvalidParams)
        from wit_world.exports import completion
        ref = completion.Reference_Prompt("p_review")
        got = _exports.Completion().complete(ref, "lang", "r", [])
        self.assertEqual(got.values, ["rs"])


if __name__ == "__main__":
    unittest.main()
