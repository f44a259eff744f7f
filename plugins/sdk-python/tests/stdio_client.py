"""A minimal MCP client over berth's stdio transport (legacy era), for the
Python SDK's end-to-end checks. Answers elicitation requests from a script.
"""

import json
import subprocess
import sys
import threading
import queue


class Client:
    """One `berth serve --stdio` process and one legacy session."""

    def __init__(self, berth: str, plugins: str, answers=None, capabilities=None, config=None):
        cmd = [berth, "serve", "--stdio", "--plugins", plugins, "--log", "warn"]
        if config:
            cmd[1:1] = ["--config", config]
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.next_id = 0
        self.notifications = []
        self.answers = list(answers or [])
        self.asked = []
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.stderr = []
        threading.Thread(target=lambda: self.stderr.extend(self.proc.stderr), daemon=True).start()
        self.request("initialize", {
            "protocolVersion": "2025-06-18",
            "capabilities": capabilities if capabilities is not None else {"elicitation": {}},
            "clientInfo": {"name": "sdk-python-e2e", "version": "0"}})
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(json.loads(line))

    def send(self, msg):
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()

    def request(self, method, params=None, timeout=120):
        self.next_id += 1
        rid = self.next_id
        self.send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params or {}})
        while True:
            msg = self.lines.get(timeout=timeout)
            if "method" in msg and "id" in msg:  # a request from berth
                self.asked.append(msg)
                result = self.answers.pop(0) if self.answers else {"action": "cancel"}
                self.send({"jsonrpc": "2.0", "id": msg["id"], "result": result})
            elif "method" in msg:
                self.notifications.append(msg)
            elif msg.get("id") == rid:
                if "error" in msg:
                    return {"rpc_error": msg["error"]}
                return msg["result"]

    def call(self, tool, args=None, **extra):
        return self.request("tools/call", {"name": tool, "arguments": args or {}, **extra})

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def text_of(result):
    """The text of a tools/call result's first block."""
    return result["content"][0]["text"] if result.get("content") else None


if __name__ == "__main__":
    c = Client(sys.argv[1], sys.argv[2])
    print(json.dumps(c.request("tools/list"), indent=1))
    c.close()
