"""End-to-end check of the Python SDK against a real berth binary.

    python3 e2e.py BERTH [--no-build]

Builds hello-py, counter-py and probe-py (with build.py, i.e. the `berth
build` recipe), serves copies of the .wasm files (without their manifests,
which today's berth refuses because of [build]) and checks, over one
legacy stdio session per case: the greet tool and its log notifications,
counter 1, 2, 3 in one session and 1 in a new one, a raised exception
masked as an internal error, a UserError shown as isError, structured
output, elicitation in two rounds, resources, prompts and completion; and
fetch-py against a local HTTP server (granted to it, and allowed by a
berth.toml [sandbox]), following a redirect, and refused for another host.
"""

import http.server
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from build import REPO, build
from stdio_client import Client, text_of

PROJECTS = [REPO / "plugins/examples/hello-py", REPO / "plugins/examples/counter-py",
            REPO / "plugins/examples/fetch-py", Path(__file__).resolve().parent / "probe-py"]
failures = []


def check(what, got, want):
    ok = got == want
    print(f"{'ok  ' if ok else 'FAIL'} {what}: {got!r}" + ("" if ok else f" (want {want!r})"))
    if not ok:
        failures.append(what)


def main():
    berth = sys.argv[1]
    plugins = Path(tempfile.mkdtemp(prefix="berth-py-e2e-"))
    for p in PROJECTS:
        wasm = p / f"{p.name}.wasm"
        if "--no-build" not in sys.argv or not wasm.exists():
            build(p)
        shutil.copy(wasm, plugins)

    out = subprocess.run([berth, "call", str(plugins / "hello-py.wasm"), "greet",
                          "--args", '{"name":"Ada"}'], capture_output=True, text=True)
    check("berth call greet", out.stdout.strip(), "Hello, Ada!")

    c = Client(berth, str(plugins))
    c.request("logging/setLevel", {"level": "debug"})
    check("greet", c.call("hello-py_greet", {"name": "Ada"}),
          {"content": [{"type": "text", "text": "Hello, Ada!"}], "isError": False})
    check("greet logs", [(n["params"]["level"], n["params"]["data"]) for n in c.notifications
                         if n["method"] == "notifications/message"],
          [("debug", "composing a greeting"), ("info", "greeting Ada")])
    check("counter in one session", [text_of(c.call("counter-py_increment")) for _ in range(3)],
          ["1", "2", "3"])
    check("counter get", text_of(c.call("counter-py_get")), "3")
    check("counter reset", text_of(c.call("counter-py_reset")), "0")
    check("exception is masked", c.call("probe-py_boom"),
          {"content": [{"type": "text", "text": "Internal error in tool probe-py_boom."}],
           "isError": True})
    check("UserError is a tool error", c.call("probe-py_refuse", {"reason": "no"}),
          {"content": [{"type": "text", "text": "refused: no"}], "isError": True})
    check("InvalidParams", text_of(c.call("probe-py_bad_args", {"n": -1})),
          "Invalid arguments: n must not be negative")
    r = c.call("probe-py_stats", {"values": [1, 2, 3]})
    check("structured", (r.get("structuredContent"), text_of(r)),
          ({"count": 3, "mean": 2.0}, '{"count":3,"mean":2.0}'))
    c.answers = [{"action": "accept", "content": {"name": "Ada"}},
                 {"action": "accept", "content": {"x": 36}}]
    check("elicitation in two rounds", text_of(c.call("probe-py_ask_name")), "Hello, Ada (36)!")
    check("questions asked", [q["params"]["message"] for q in c.asked],
          ["What is your name?", "How old are you?"])
    check("resource read", c.request("resources/read", {"uri": "probe://notes/42"})["contents"],
          [{"uri": "probe://notes/42", "mimeType": "application/json",
            "text": '{"id":42,"uri":"probe://notes/42"}'}])
    got = c.request("prompts/get", {"name": "probe-py_review", "arguments": {"code": "x=1"}})
    check("prompt", [m["content"]["text"] for m in got["messages"]],
          ["Review this python code:\nx=1", "Sure."])
    ref = {"type": "ref/prompt", "name": "probe-py_review"}
    got = c.request("completion/complete",
                    {"ref": ref, "argument": {"name": "language", "value": "r"}})
    check("completion", got["completion"]["values"], ["rust"])
    c.close()

    c = Client(berth, str(plugins))
    check("counter in a new session", text_of(c.call("counter-py_increment")), "1")
    c.close()

    check_fetch(berth, plugins)
    shutil.rmtree(plugins)
    print(f"{len(failures)} failure(s)" if failures else "all passed")
    sys.exit(1 if failures else 0)


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        if self.path == "/moved":
            self.send_response(302)
            self.send_header("location", "/hi")
            self.end_headers()
            return
        body = b"hello over wasi:http"
        self.send_response(200 if self.path == "/hi" else 404)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def check_fetch(berth, plugins):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    (plugins / "fetch-py.toml").write_text(f'[grants]\nhttp = ["127.0.0.1:{port}"]\n')
    config = plugins / "berth.toml"
    config.write_text('[sandbox]\nallow_private_hosts = ["127.0.0.1"]\nallow_plain_http = true\n')
    c = Client(berth, str(plugins), config=str(config))
    base = f"http://127.0.0.1:{port}"
    check("fetch", text_of(c.call("fetch-py_get", {"url": f"{base}/hi"})), "hello over wasi:http")
    check("fetch follows a redirect", text_of(c.call("fetch-py_get", {"url": f"{base}/moved"})),
          "hello over wasi:http")
    r = c.call("fetch-py_get", {"url": f"http://127.0.0.2:{port}/hi"})
    check("fetch of a host not granted", (r["isError"], "HttpRequestDenied" in text_of(r)),
          (True, True))
    c.close()
    server.shutdown()


if __name__ == "__main__":
    main()
