"""LLM faults: provider failures and bad answers against a local OpenAI-compatible server, through litellm.

Every case of :data:`olist_next_assets.lib.outreach.faults.FAULT_CASES` runs the writer against the
fake server in that behaviour (timeouts, 429 with and without Retry-After, 500/503, dropped
connections, malformed JSON, no completion, empty, over-long, cut-off, error-text and
guardrail-breaking answers, a mix, a provider that is down) and checks the invariants listed in
that module, then reruns what is missing against a healthy server and counts its calls.
"""

from __future__ import annotations

import email.utils
import time

import pytest

from olist_next_assets.bench.fake_llm import MIXED, FakeLLM, fault_of
from olist_next_assets.lib.outreach.faults import (
    BOUNDS,
    FAULT_CASES,
    PLANTED_KEY,
    POLICY,
    run_fault_case,
    sample_requests,
)
from olist_next_assets.lib.outreach.writer import (
    DEPLOYMENT,
    Client,
    LLMSettings,
    backoff,
    describe,
    retry_after,
    write_batch,
)


@pytest.mark.parametrize("case", FAULT_CASES, ids=[c.name for c in FAULT_CASES])
def test_fault_case(case):
    outcome = run_fault_case(case)
    assert outcome.passed, outcome.summary()


def test_the_corpus_covers_every_fault_the_issue_names():
    behaviours = {c.behaviour for c in FAULT_CASES}
    assert {"timeout", "rate_limit", "server_error", "malformed", "empty", "long", "unsafe", "mixed"} <= behaviours
    assert any(c.behaviour == "rate_limit" and c.retry_after for c in FAULT_CASES)  # 429 with Retry-After
    assert len({c.name for c in FAULT_CASES}) == len(FAULT_CASES) >= 20
    customers = [q.context["customer_ref"] for q in sample_requests(40, "mixed_always")]
    assert {fault_of(c, "mixed") for c in customers} == set(MIXED)  # the mixed batch meets every behaviour


class _Headers(dict):
    def get(self, key, default=None):
        return super().get(key.lower(), default)


class _RateLimited(Exception):
    status_code = 429

    def __init__(self, value):
        super().__init__("rate limited")
        self.litellm_response_headers = _Headers({"retry-after": value})


def test_retry_after_in_seconds_or_as_a_date_and_backoff_otherwise():
    settings = LLMSettings(backoff_seconds=0.5, backoff_max_seconds=4.0, max_retry_after_seconds=60)
    assert retry_after(_RateLimited("7")) == 7.0
    in_ten = email.utils.formatdate(time.time() + 10, usegmt=True)
    assert 8.0 < retry_after(_RateLimited(in_ten)) <= 10.0
    assert backoff(_RateLimited("3"), 0, settings) == 3.0
    assert backoff(_RateLimited("3600"), 0, settings) is None  # too long to wait in this run: left for a rerun
    plain = RuntimeError("boom")
    waits = [backoff(plain, retry, settings) for retry in range(5)]
    assert [0.5 <= waits[0] <= 0.625, 1.0 <= waits[1] <= 1.25, 2.0 <= waits[2] <= 2.5] == [True] * 3
    assert all(4.0 <= w <= 5.0 for w in waits[3:])  # capped (plus jitter)


def test_litellm_and_the_openai_sdk_do_not_retry_on_their_own():
    deployment = Client(LLMSettings(model="openai/x", api_base="http://127.0.0.1:1/v1")).deployments[DEPLOYMENT]
    assert deployment["num_retries"] == 0 and deployment["max_retries"] == 0


def test_the_api_key_is_masked_even_when_cut_and_hidden_from_repr():
    key = "sk-test-PLANTED-0123456789abcdef0123456789"
    error = RuntimeError("x" * 150 + f" Incorrect API key provided: {key}. Bearer {key}")
    text = describe(error, key)
    assert "PLANTED" not in text and "sk-test" not in text  # masked before the message is shortened
    assert "PLANTED" not in repr(LLMSettings(api_key=key))


def test_a_failed_call_is_retried_in_the_next_run_and_a_good_one_is_not(tmp_path):
    """The writer's side of 'a rerun generates only what is missing': failures are not cached."""
    requests = sample_requests(4, "cache")
    with FakeLLM(behaviour="server_error", failures=-1) as down:
        settings = LLMSettings(model="openai/gpt-4o-mini", api_base=down.url, api_key=PLANTED_KEY, num_retries=1,
                               backoff_seconds=0.01, cache_dir=str(tmp_path))
        failed = write_batch(requests, settings, POLICY, BOUNDS)
    assert [r.status for r in failed] == ["failed"] * 4 and all(r.body is None for r in failed)
    with FakeLLM() as up:
        healed = write_batch(requests, LLMSettings(**{**settings.__dict__, "api_base": up.url}), POLICY, BOUNDS)
        assert up.calls == 4
        again = write_batch(requests, LLMSettings(**{**settings.__dict__, "api_base": up.url}), POLICY, BOUNDS)
        assert up.calls == 4  # answered from the cache
    assert [r.status for r in healed] == [r.status for r in again] == ["generated"] * 4
