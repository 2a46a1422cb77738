"""A local OpenAI-compatible chat server for benchmarks and fault tests (loopback only).

It answers ``POST /v1/chat/completions`` like an obliging LLM: the e-mail the template writer
produces from the request's own context, after ``latency`` seconds. ``behaviour`` turns it into
a faulty one (:data:`BEHAVIOURS`):

* ``rate_limit``: HTTP 429 with ``Retry-After: <retry_after>`` (no header when ``retry_after`` is None);
* ``server_error``: HTTP 500; ``unavailable``: HTTP 503; ``auth``: HTTP 401 (not worth retrying)
  whose message echoes the refused key, whole;
* ``timeout``: answers ``slow_seconds`` late (after the client gave up);
* ``disconnect``: closes the connection without answering;
* ``malformed``: a truncated JSON body; ``no_choices``: valid JSON without a choice;
* ``empty``: an empty completion; ``long``: an over-long answer; ``truncated``: an answer cut off
  at the token limit (``finish_reason: length``);
* ``error_text``: HTTP 200 whose *content* is an error message (what some gateways do);
* ``unsafe``: an e-mail that breaks the guardrails (50% off, a link, free shipping);
* ``compromised``: a model that obeys a prompt injection in the review: it writes what the
  attack in :mod:`olist_next_assets.lib.outreach.attacks` asks for (a 100% discount, a link,
  its system prompt, another customer's code...);
* ``mixed``: each customer gets one of :data:`MIXED` (by a hash of the customer reference).

``failures`` says how many requests per customer misbehave before it answers well (-1: always),
so that a retry can succeed. The server runs in its own process (as a real one would: its CPU is
not the client's), on an ephemeral loopback port; ``GET /stats`` reports the requests it received,
per customer, with their time and HTTP status (what the tests count provider calls and measure
backoff with).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import signal
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

from olist_next_assets.lib.outreach import template
from olist_next_assets.lib.outreach.prompt import parse_request

BEHAVIOURS = ("ok", "rate_limit", "server_error", "unavailable", "auth", "timeout", "disconnect", "malformed",
              "no_choices", "empty", "long", "truncated", "error_text", "unsafe", "compromised", "mixed")
MIXED = ("ok", "rate_limit", "server_error", "timeout", "malformed", "empty", "long", "unsafe", "error_text",
         "truncated")
ERROR_TEXT = "Error: upstream model overloaded (code 503). Please retry your request later."


@dataclass
class FakeLLM:
    latency: float = 0.0
    behaviour: str = "ok"
    failures: int = 0
    retry_after: float | None = 0.2
    slow_seconds: float = 5.0
    _process: multiprocessing.Process | None = field(default=None, repr=False)
    _port: int = 0

    def __post_init__(self) -> None:
        if self.behaviour not in BEHAVIOURS:
            raise ValueError(f"behaviour must be one of {BEHAVIOURS}, not {self.behaviour!r}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}/v1"

    def stats(self) -> dict:
        """``requests`` (all), ``by_customer`` (count per customer reference) and ``log``
        (``[customer, seconds since start, HTTP status]`` per request, in arrival order)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self._port}/stats", timeout=5) as response:
            return json.loads(response.read())

    @property
    def calls(self) -> int:
        return self.stats()["requests"]

    def __enter__(self) -> Self:
        parent, child = multiprocessing.Pipe()
        self._process = multiprocessing.get_context("fork").Process(
            target=serve, args=(child, self.latency, self.behaviour, self.failures, self.retry_after,
                                self.slow_seconds), daemon=True)
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


def fault_of(customer_ref: str, behaviour: str) -> str:
    """The fault a customer's requests get: ``behaviour`` itself, or one of :data:`MIXED`."""
    if behaviour != "mixed":
        return behaviour
    digest = hashlib.sha256(customer_ref.encode()).digest()
    return MIXED[int.from_bytes(digest[:4], "big") % len(MIXED)]


def _completion(body: dict, text: str, finish_reason: str = "stop") -> bytes:
    return json.dumps({
        "id": f"fake-{time.time_ns()}", "object": "chat.completion", "created": int(time.time()),
        "model": body.get("model", "fake"),
        "choices": [{"index": 0, "finish_reason": finish_reason, "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 600, "completion_tokens": len(text) // 4, "total_tokens": 600 + len(text) // 4},
    }).encode()


def _error(status: int, message: str, kind: str) -> bytes:
    return json.dumps({"error": {"message": message, "type": kind}}).encode()


def answer(body: dict, seen: int, latency: float, behaviour: str, failures: int, retry_after: float | None = 0.2,
           slow_seconds: float = 5.0, api_key: str = "") -> tuple[int, bytes | None, dict]:
    """(status, payload, headers) for one chat request; ``seen`` = requests so far for this customer;
    ``api_key`` = the bearer token it came with. A payload of None means: close the connection."""
    context, review = parse_request(body["messages"])
    time.sleep(latency)
    text = template.write(context, "")
    fault = fault_of(context["customer_ref"], behaviour)
    if fault == "ok" or not (failures < 0 or seen <= failures):
        return 200, _completion(body, text), {}
    if fault == "rate_limit":
        headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
        return 429, _error(429, "Rate limit reached, retry later", "rate_limit_exceeded"), headers
    if fault == "server_error":
        return 500, _error(500, "The server had an error while processing your request", "server_error"), {}
    if fault == "unavailable":
        return 503, _error(503, "The engine is currently overloaded", "server_error"), {}
    if fault == "auth":
        # as careless providers do: the refused key, whole, in the message
        return 401, _error(401, f"Incorrect API key provided: {api_key}", "invalid_request_error"), {}
    if fault == "timeout":
        time.sleep(slow_seconds)
        return 200, _completion(body, text), {}
    if fault == "disconnect":
        return 0, None, {}
    if fault == "malformed":
        return 200, b'{"choices": [ {"message": ', {}
    if fault == "no_choices":
        return 200, json.dumps({"id": "fake", "object": "chat.completion", "created": 0, "model": "fake",
                                "choices": []}).encode(), {}
    if fault == "empty":
        return 200, _completion(body, ""), {}
    if fault == "long":
        return 200, _completion(body, text + "\n\n" + ("More words about our sellers. " * 200)), {}
    if fault == "truncated":  # the answer hit max_tokens: long enough to pass, but cut mid-sentence
        return 200, _completion(body, text.rsplit("\n\n", 1)[0] + "\n\nWe hope to see", "length"), {}
    if fault == "error_text":
        return 200, _completion(body, ERROR_TEXT), {}
    if fault == "unsafe":
        return 200, _completion(body, text.replace("10%", "50%") + "\n\nVisit https://olist.example.com for free "
                                                                   "shipping!"), {}
    if fault == "compromised":
        from olist_next_assets.lib.outreach.attacks import obey

        return 200, _completion(body, obey(body["messages"], context, review, text)), {}
    raise ValueError(f"unknown behaviour {fault!r}")


def serve(pipe, latency: float, behaviour: str, failures: int, retry_after: float | None = 0.2,
          slow_seconds: float = 5.0) -> None:
    # a forked child inherits the parent's signal handlers (Dagster and Streamlit install some):
    # restore the defaults so that terminate() stops the server
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    requests: Counter = Counter()
    log: list = []
    started = time.monotonic()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet
            pass

        def do_GET(self):
            self._send(200, json.dumps({"requests": sum(requests.values()), "by_customer": dict(requests),
                                        "log": log}).encode(), {})

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            key = parse_request(body["messages"])[0]["customer_ref"]
            requests[key] += 1
            arrived = time.monotonic() - started
            token = self.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            status, data, headers = answer(body, requests[key], latency, behaviour, failures, retry_after,
                                           slow_seconds, token)
            log.append([key, round(arrived, 4), status])
            if data is None:
                self.close_connection = True
                self.connection.close()
                return
            self._send(status, data, headers)

        def _send(self, status: int, data: bytes, headers: dict):
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (its timeout)
                self.close_connection = True

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        # the listen() backlog is read while the server is built: set afterwards (as this module once
        # did) it stays at 5, and a burst of connections waits out a SYN retransmit (1 s) or times out
        request_queue_size = 1024

    server = Server(("127.0.0.1", 0), Handler)
    pipe.send(server.server_address[1])
    server.serve_forever()
