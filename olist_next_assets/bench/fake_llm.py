"""A local OpenAI-compatible chat server for benchmarks and fault tests (loopback only).

It answers ``POST /v1/chat/completions`` like an obliging LLM: the e-mail the template writer
produces from the request's own context, after ``latency`` seconds. ``behaviour`` turns it into
a faulty one: ``rate_limit`` (429 with Retry-After, then fine), ``server_error`` (500s, then
fine), ``timeout`` (answers too late), ``malformed`` (invalid JSON), ``empty`` (empty
completion), ``long`` (an over-long answer), ``unsafe`` (an e-mail that breaks the guardrails).
``failures`` says how many requests per customer misbehave before it answers well (-1: always).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from olist_next_assets.lib.outreach import template
from olist_next_assets.lib.outreach.prompt import parse_request


@dataclass
class FakeLLM:
    latency: float = 0.0
    behaviour: str = "ok"
    failures: int = 0
    requests: Counter = field(default_factory=Counter)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    @property
    def calls(self) -> int:
        return sum(self.requests.values())

    def __enter__(self) -> FakeLLM:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                context, review = parse_request(body["messages"])
                key = context["customer_ref"]
                fake.requests[key] += 1
                time.sleep(fake.latency)
                misbehave = fake.behaviour != "ok" and (fake.failures < 0 or fake.requests[key] <= fake.failures)
                text = template.write(context, "")
                if misbehave:
                    if fake.behaviour == "rate_limit":
                        return self._send(429, {"error": {"message": "rate limited", "type": "rate_limit"}},
                                          {"Retry-After": "0.2"})
                    if fake.behaviour == "server_error":
                        return self._send(500, {"error": {"message": "boom", "type": "server_error"}})
                    if fake.behaviour == "timeout":
                        time.sleep(5)
                    if fake.behaviour == "malformed":
                        return self._raw(200, b'{"choices": [ {"message": ')
                    if fake.behaviour == "empty":
                        text = ""
                    if fake.behaviour == "long":
                        text = text + "\n\n" + ("More words about our sellers. " * 200)
                    if fake.behaviour == "unsafe":
                        text = text.replace("10%", "50%") + "\n\nVisit https://olist.example.com for free shipping!"
                self._send(200, {
                    "id": f"fake-{fake.calls}", "object": "chat.completion", "created": int(time.time()),
                    "model": body.get("model", "fake"),
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": text}}],
                    "usage": {"prompt_tokens": 600, "completion_tokens": len(text) // 4,
                              "total_tokens": 600 + len(text) // 4},
                })

            def _send(self, status: int, payload: dict, headers: dict | None = None):
                self._raw(status, json.dumps(payload).encode(), headers)

            def _raw(self, status: int, data: bytes, headers: dict | None = None):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
