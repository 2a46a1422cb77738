"""A local OpenAI-compatible chat server for benchmarks and fault tests (loopback only).

It answers ``POST /v1/chat/completions`` like an obliging LLM: the e-mail the template writer
produces from the request's own context, after ``latency`` seconds. ``behaviour`` turns it into
a faulty one: ``rate_limit`` (429 with Retry-After), ``server_error`` (500), ``timeout``
(answers too late), ``malformed`` (invalid JSON), ``empty`` (empty completion), ``long`` (an
over-long answer), ``unsafe`` (an e-mail that breaks the guardrails). ``failures`` says how many
requests per customer misbehave before it answers well (-1: always).

The server runs in its own process (as a real one would: its CPU is not the client's), on an
ephemeral loopback port; ``GET /stats`` reports how many requests it received.
"""

from __future__ import annotations

import json
import multiprocessing
import signal
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from olist_next_assets.lib.outreach import template
from olist_next_assets.lib.outreach.prompt import parse_request


@dataclass
class FakeLLM:
    latency: float = 0.0
    behaviour: str = "ok"
    failures: int = 0
    _process: multiprocessing.Process | None = None
    _port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}/v1"

    @property
    def calls(self) -> int:
        with urllib.request.urlopen(f"http://127.0.0.1:{self._port}/stats", timeout=5) as response:
            return json.loads(response.read())["requests"]

    def __enter__(self) -> FakeLLM:
        parent, child = multiprocessing.Pipe()
        self._process = multiprocessing.get_context("fork").Process(
            target=serve, args=(child, self.latency, self.behaviour, self.failures), daemon=True)
        self._process.start()
        if not parent.poll(30):
            raise RuntimeError("the fake LLM server did not start")
        self._port = parent.recv()
        return self

    def __exit__(self, *exc) -> None:
        self._process.terminate()
        self._process.join(5)
        if self._process.is_alive():  # a handler inherited from the parent ignored SIGTERM
            self._process.kill()
            self._process.join(5)


def answer(body: dict, seen: int, latency: float, behaviour: str, failures: int) -> tuple[int, bytes, dict]:
    """(status, payload, headers) for one chat request; ``seen`` = requests so far for this customer."""
    context, _ = parse_request(body["messages"])
    time.sleep(latency)
    text = template.write(context, "")
    if behaviour != "ok" and (failures < 0 or seen <= failures):
        if behaviour == "rate_limit":
            return 429, json.dumps({"error": {"message": "rate limited", "type": "rate_limit"}}).encode(), \
                {"Retry-After": "0.2"}
        if behaviour == "server_error":
            return 500, json.dumps({"error": {"message": "boom", "type": "server_error"}}).encode(), {}
        if behaviour == "timeout":
            time.sleep(5)
        if behaviour == "malformed":
            return 200, b'{"choices": [ {"message": ', {}
        if behaviour == "empty":
            text = ""
        if behaviour == "long":
            text = text + "\n\n" + ("More words about our sellers. " * 200)
        if behaviour == "unsafe":
            text = text.replace("10%", "50%") + "\n\nVisit https://olist.example.com for free shipping!"
    payload = {
        "id": f"fake-{time.time_ns()}", "object": "chat.completion", "created": int(time.time()),
        "model": body.get("model", "fake"),
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 600, "completion_tokens": len(text) // 4, "total_tokens": 600 + len(text) // 4},
    }
    return 200, json.dumps(payload).encode(), {}


def serve(pipe, latency: float, behaviour: str, failures: int) -> None:
    # a forked child inherits the parent's signal handlers (Dagster and Streamlit install some):
    # restore the defaults so that terminate() stops the server
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    requests: Counter = Counter()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet
            pass

        def do_GET(self):
            self._send(200, json.dumps({"requests": sum(requests.values())}).encode(), {})

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            key = parse_request(body["messages"])[0]["customer_ref"]
            requests[key] += 1
            self._send(*answer(body, requests[key], latency, behaviour, failures))

        def _send(self, status: int, data: bytes, headers: dict):
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.request_queue_size = 256
    pipe.send(server.server_address[1])
    server.serve_forever()
