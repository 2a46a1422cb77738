"""LLM faults: a named corpus of provider failures and bad answers, and the harness that runs one.

Each case starts the local OpenAI-compatible fake server (:mod:`olist_next_assets.bench.fake_llm`,
loopback, its own process) in one faulty behaviour and writes a small batch through litellm
exactly as production does (:func:`olist_next_assets.lib.outreach.writer.write_batch`, model
``openai/gpt-4o-mini`` on the server's ``api_base``, a planted API key). Then it checks what must
hold whatever the fault:

* the batch completes (every request has a row) within the case's time bound;
* no error message is ever stored as an e-mail: a row with a body passed the guardrails or is
  flagged for review; a row without one is ``failed``, flagged, with the error in words;
* the writer's count of provider calls equals the requests the server received, and each e-mail
  makes at most ``1 + num_retries`` calls to the model (plus one guardrail retry);
* retries wait: at least what Retry-After asked, otherwise an exponential backoff;
* the API key appears in no result;
* a rerun (against a healthy server, same cache) calls the provider exactly once per row that
  was not kept (status not in ``REUSABLE``) and leaves no row failed;

and the case's own expectation (statuses, retries, calls). ``olist-next bench reliability`` and
``olist_next_tests/reliability/test_llm_faults.py`` both iterate :data:`FAULT_CASES`.
"""

from __future__ import annotations

import dataclasses
import itertools
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from olist_next_assets.lib.outreach.coupons import coupon_code
from olist_next_assets.lib.outreach.policy import DiscountPolicy, LengthBounds, ToneRules
from olist_next_assets.lib.outreach.prompt import CustomerFacts, build_context, quote
from olist_next_assets.lib.outreach.writer import (
    FAILED,
    GENERATED,
    REUSABLE,
    TEMPLATE_FALLBACK,
    EmailRequest,
    EmailResult,
    LLMSettings,
    retry_allowance,
    write_batch,
)

PLANTED_KEY = "sk-test-PLANTED-fault-0123456789abcdef"
POLICY, BOUNDS = DiscountPolicy(), LengthBounds()
# fast settings for the cases: short timeouts and backoff (the shapes, not the production values)
BASE_SETTINGS = {"model": "openai/gpt-4o-mini", "api_key": PLANTED_KEY, "timeout_seconds": 1.0, "num_retries": 3,
                 "backoff_seconds": 0.1, "backoff_max_seconds": 1.0, "concurrency": 8}


@dataclass(frozen=True)
class FaultCase:
    name: str
    behaviour: str
    """The fake server's behaviour (:data:`olist_next_assets.bench.fake_llm.BEHAVIOURS`)."""
    failures: int
    """Requests per customer that misbehave before a good answer (-1: all of them)."""
    expect: str
    """``generated`` (retries heal it), ``template_fallback`` (bad answers: the template writes it,
    flagged), ``failed`` (no e-mail, flagged, left for a rerun) or ``mixed``."""
    description: str
    emails: int = 6
    retry_after: float | None = 0.2
    slow_seconds: float = 2.5
    settings: dict[str, Any] = field(default_factory=dict)
    max_calls: int | None = None
    """At most this many provider calls for the whole batch (budget and breaker cases)."""
    max_seconds: float = 30.0


FAULT_CASES: list[FaultCase] = [
    # transient: the first two requests of each e-mail fail, the retries succeed
    FaultCase("timeout_then_ok", "timeout", 2, GENERATED,
              "the server answers after the client's timeout twice, then in time"),
    FaultCase("rate_limit_retry_after_then_ok", "rate_limit", 2, GENERATED,
              "HTTP 429 with Retry-After: 0.3 twice; the writer waits at least 0.3 s each time", retry_after=0.3),
    FaultCase("rate_limit_no_header_then_ok", "rate_limit", 2, GENERATED,
              "HTTP 429 without Retry-After twice; exponential backoff", retry_after=None),
    FaultCase("server_error_then_ok", "server_error", 2, GENERATED, "HTTP 500 twice, then an answer"),
    FaultCase("unavailable_then_ok", "unavailable", 2, GENERATED, "HTTP 503 twice, then an answer"),
    FaultCase("disconnect_then_ok", "disconnect", 2, GENERATED, "the connection drops without an answer twice"),
    FaultCase("malformed_json_then_ok", "malformed", 2, GENERATED, "a truncated JSON body twice"),
    FaultCase("no_choices_then_ok", "no_choices", 2, GENERATED, "valid JSON without a completion twice"),
    # persistent: every request fails; nothing is stored, every row is flagged, a rerun fills them
    FaultCase("timeout_always", "timeout", -1, FAILED, "the server never answers in time"),
    FaultCase("rate_limit_always", "rate_limit", -1, FAILED, "HTTP 429 with Retry-After on every request"),
    FaultCase("server_error_always", "server_error", -1, FAILED, "HTTP 500 on every request"),
    FaultCase("malformed_json_always", "malformed", -1, FAILED, "a truncated JSON body on every request"),
    FaultCase("auth_refused", "auth", -1, FAILED,
              "HTTP 401 echoing the key: not retried (one call per e-mail), the key masked in the error",
              max_calls=6),
    FaultCase("retry_after_too_long", "rate_limit", -1, FAILED,
              "HTTP 429 asking to wait an hour: not waited for in this run (one call per e-mail)",
              retry_after=3600, max_calls=6, max_seconds=10),
    # bad answers: the guardrails refuse them; one retry with the reasons, then the template
    FaultCase("empty_once", "empty", 1, GENERATED, "an empty completion, then a good one (the guardrail retry)"),
    FaultCase("empty_always", "empty", -1, TEMPLATE_FALLBACK, "an empty completion every time"),
    FaultCase("long_always", "long", -1, TEMPLATE_FALLBACK, "an answer five times the length limit"),
    FaultCase("truncated_always", "truncated", -1, TEMPLATE_FALLBACK,
              "an answer cut off at the token limit (finish_reason=length), long enough to look complete"),
    FaultCase("error_text_always", "error_text", -1, TEMPLATE_FALLBACK,
              "HTTP 200 whose content is an error message: never stored as an e-mail"),
    FaultCase("unsafe_once", "unsafe", 1, GENERATED, "a guardrail-breaking answer, then a good one"),
    FaultCase("unsafe_always", "unsafe", -1, TEMPLATE_FALLBACK, "50% off, a link and free shipping, every time"),
    # several faults in one batch, and a provider that is down
    FaultCase("mixed_always", "mixed", -1, "mixed",
              "each e-mail gets one of ten behaviours (good, 429, 500, timeout, malformed, empty, long, unsafe, "
              "error text, truncated), always", emails=40),
    FaultCase("retry_budget", "server_error", -1, FAILED,
              "HTTP 500 always on 40 e-mails, a budget of half a retry per e-mail: at most 20 retries",
              emails=40, settings={"breaker_failures": 1000, "retry_budget": 0.5}, max_calls=60),
    FaultCase("provider_down_breaker", "server_error", -1, FAILED,
              "HTTP 500 always on 60 e-mails: after 5 failed e-mails in a row no more calls are made",
              emails=60, settings={"breaker_failures": 5, "concurrency": 2, "retry_budget": 10.0},
              max_calls=4 * (5 + 2)),
]


@dataclass
class FaultOutcome:
    case: str
    passed: bool
    problems: list[str]
    statuses: dict[str, int]
    provider_calls: int
    retries: int
    rerun_calls: int
    seconds: float

    def summary(self) -> str:
        verdict = "passed" if self.passed else "FAILED: " + "; ".join(self.problems)
        return (f"{self.case}: {dict(self.statuses)}, {self.provider_calls} calls, {self.retries} retries, "
                f"rerun {self.rerun_calls} calls, {self.seconds:.1f} s - {verdict}")


def sample_requests(n: int, seed: str = "fault") -> list[EmailRequest]:
    """``n`` e-mail requests in English and Portuguese, every tone, as the asset builds them."""
    requests = []
    for i in range(n):
        score = [None, 1.0, 5.0, 3.0][i % 4]
        facts = CustomerFacts(f"{i:04d}{seed:.4}{i:024x}"[:32], ["bed_bath_table", "health_beauty", None][i % 3],
                              1 + i % 3, 80.0 + i * 7 % 500, float(30 + i * 13 % 600), score, score, score,
                              0 if score is None else 1, i % 5 == 0, "chegou atrasado" if i % 4 == 1 else None)
        context = build_context(facts, coupon_code(facts.customer, f"retention-{seed}", "fault-secret"), POLICY,
                                ToneRules(), "en" if i % 2 else "pt-BR")
        requests.append(EmailRequest(facts.customer, context, quote(facts.last_comment)))
    return requests


def invariant_problems(requests: list[EmailRequest], results: list[EmailResult], secret: str | None) -> list[str]:
    """What must hold for any batch, whatever the provider did."""
    from olist_next_assets.bench.fake_llm import ERROR_TEXT
    from olist_next_assets.lib.outreach import guardrails

    problems = []
    if len(results) != len(requests) or [r.customer for r in results] != [q.customer for q in requests]:
        problems.append("not one result per request")
    for request, r in zip(requests, results, strict=False):
        if r.status not in (GENERATED, TEMPLATE_FALLBACK, FAILED):
            problems.append(f"{r.customer}: unknown status {r.status}")
        if r.body is None:
            if r.status != FAILED or not r.needs_review or not r.error:
                problems.append(f"{r.customer}: no e-mail but status {r.status}, error {r.error!r}")
            continue
        if r.status == FAILED:
            problems.append(f"{r.customer}: failed with a body stored")
        verdict = guardrails.check(r.subject or "", r.body, request.context, POLICY, BOUNDS)
        if not verdict.passed and not r.needs_review:
            problems.append(f"{r.customer}: unflagged e-mail breaking the guardrails ({verdict.reasons})")
        if r.status == GENERATED and not verdict.passed:
            problems.append(f"{r.customer}: 'generated' but breaks the guardrails ({verdict.reasons})")
        if ERROR_TEXT.split("(")[0] in r.body or "Traceback" in r.body or "Exception" in r.body:
            problems.append(f"{r.customer}: an error message stored as an e-mail")
        if request.context["coupon_code"] not in r.body:
            problems.append(f"{r.customer}: e-mail without the customer's code")
    if secret and any(secret in repr(dataclasses.asdict(r)) for r in results):
        problems.append("the API key appears in a result")
    return problems


def _gaps(log: list) -> dict[str, list[tuple[float, int]]]:
    """Per customer: (seconds since the previous request, previous request's status)."""
    by_customer: dict[str, list] = {}
    for customer, t, status in sorted(log, key=lambda entry: entry[1]):
        by_customer.setdefault(customer, []).append((t, status))
    return {c: [(b[0] - a[0], a[1]) for a, b in itertools.pairwise(seq)] for c, seq in by_customer.items()}


def _settled_stats(fake, expected: int, patience: float = 3.0) -> dict:
    """The server's stats once it has counted ``expected`` requests (or after ``patience`` s): a
    request the client gave up on (its timeout) may still wait in the server's socket queue."""
    deadline = time.monotonic() + patience
    stats = fake.stats()
    while stats["requests"] < expected and time.monotonic() < deadline:
        time.sleep(0.05)
        stats = fake.stats()
    return stats


def run_fault_case(case: FaultCase, workdir: str | None = None) -> FaultOutcome:
    """Write ``case.emails`` e-mails against the faulty server, check, then rerun what is missing."""
    from olist_next_assets.bench.fake_llm import FakeLLM
    from olist_next_assets.lib.outreach.llm import litellm

    litellm()  # imported once per process (seconds): not part of the case's time
    requests = sample_requests(case.emails, case.name)
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="olist-fault-", dir=workdir) as scratch:
        with FakeLLM(behaviour=case.behaviour, failures=case.failures, retry_after=case.retry_after,
                     slow_seconds=case.slow_seconds) as fake:
            settings = LLMSettings(**{**BASE_SETTINGS, "api_base": fake.url, "cache_dir": scratch,
                                      **case.settings})
            started = time.perf_counter()
            results = write_batch(requests, settings, POLICY, BOUNDS)
            seconds = time.perf_counter() - started
            stats = _settled_stats(fake, sum(r.provider_calls for r in results))
        problems += invariant_problems(requests, results, settings.api_key)
        calls = sum(r.provider_calls for r in results)
        retries = sum(r.retries for r in results)
        statuses = Counter(r.status for r in results)
        if calls != stats["requests"]:
            problems.append(f"the writer counted {calls} provider calls, the server received {stats['requests']}")
        per_email = 2 * (1 + settings.num_retries)  # the first answer and one guardrail retry, each retried
        if any(r.provider_calls > per_email for r in results):
            problems.append(f"an e-mail made more than {per_email} calls")
        if case.max_calls is not None and calls > case.max_calls:
            problems.append(f"{calls} provider calls, more than the bound {case.max_calls}")
        if seconds > case.max_seconds:
            problems.append(f"the batch took {seconds:.1f} s (bound {case.max_seconds:.0f} s)")
        budget = retry_allowance(len(requests), settings)
        if retries > budget:
            problems.append(f"{retries} retries, more than the run's budget {budget}")
        problems += _expectation_problems(case, results, stats, settings)

        # the rerun: keep what was written, call again only for the rest, against a healthy server
        missing = [q for q, r in zip(requests, results, strict=True) if r.status not in REUSABLE]
        with FakeLLM() as healthy:
            rerun_settings = dataclasses.replace(settings, api_base=healthy.url)
            again = write_batch(missing, rerun_settings, POLICY, BOUNDS) if missing else []
            rerun_calls = healthy.calls
        if rerun_calls != len(missing):
            problems.append(f"the rerun made {rerun_calls} calls for {len(missing)} missing e-mails")
        if any(r.status != GENERATED for r in again):
            problems.append("the rerun left rows without a good e-mail")
        problems += invariant_problems(missing, again, settings.api_key)
    return FaultOutcome(case.name, not problems, problems, dict(statuses), calls, retries, rerun_calls, seconds)


def _expectation_problems(case: FaultCase, results: list[EmailResult], stats: dict,
                          settings: LLMSettings) -> list[str]:
    from olist_next_assets.bench.fake_llm import MIXED, fault_of

    problems = []
    statuses = {r.status for r in results}
    if case.expect == "mixed":
        for r in results:
            fault = fault_of(r.customer[:8], case.behaviour)
            expected = {"ok": GENERATED, "empty": TEMPLATE_FALLBACK, "long": TEMPLATE_FALLBACK,
                        "unsafe": TEMPLATE_FALLBACK, "error_text": TEMPLATE_FALLBACK,
                        "truncated": TEMPLATE_FALLBACK}.get(fault, FAILED)
            if r.status != expected:
                problems.append(f"{r.customer} ({fault}): {r.status}, expected {expected}")
        seen = {fault_of(r.customer[:8], case.behaviour) for r in results}
        if len(seen) < len(MIXED) - 2:
            problems.append(f"only {len(seen)} behaviours in the batch")
        return problems
    if statuses != {case.expect}:
        problems.append(f"statuses {sorted(statuses)}, expected only {case.expect}")
    if case.expect == GENERATED and case.failures > 0 and case.behaviour not in ("empty", "unsafe"):
        if any(r.retries < case.failures for r in results):  # more when a loaded machine times out a call
            problems.append(f"retries per e-mail {[r.retries for r in results]}, expected {case.failures}")
        if any(r.needs_review for r in results):
            problems.append("a healed e-mail is flagged")
    if case.expect == TEMPLATE_FALLBACK and not all(r.needs_review and r.model == "olist/template" for r in results):
        problems.append("a template fallback is not flagged")
    if case.behaviour == "auth" and any("***" not in (r.error or "") for r in results):
        problems.append("the echoed key was not masked in the error")
    for customer, seq in _gaps(stats["log"]).items():
        for retry, (gap, status) in enumerate(seq):
            if status == 429 and case.retry_after is not None:
                if case.retry_after <= settings.max_retry_after_seconds and gap < case.retry_after * 0.95:
                    problems.append(f"{customer}: retried {gap:.2f} s after a 429 asking for {case.retry_after} s")
            elif status in (0, 429, 500, 503) or (status == 200 and case.behaviour in ("malformed", "no_choices")):
                floor = min(settings.backoff_max_seconds, settings.backoff_seconds * 2 ** retry)
                if gap < floor * 0.95:
                    problems.append(f"{customer}: retry {retry + 1} came {gap:.2f} s later, the backoff is {floor} s")
    return problems
