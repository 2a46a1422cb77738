"""Writing a batch of e-mails through litellm: concurrency, retries, guardrails, budget, cache.

For each customer: one call, retried with exponential backoff (and jitter) on timeouts, dropped
connections, 429s (waiting what Retry-After says), 5xx and malformed answers, within a per-call
count and a run-wide retry budget; after ``breaker_failures`` e-mails in a row fail on provider
errors, no more calls are made (a provider that is down is not hammered for the rest of the
batch). The answer is checked by the guardrails (an answer cut off at the token limit fails them
too); a failing answer is retried once with the reasons; if it fails again the template writes
the e-mail and the row is flagged for review. A call that still fails, or one the run's
token/cost budget no longer allows, stores *no* e-mail (status ``failed``, flagged, with the
error in words and the API key masked) so a rerun writes only what is missing.

The retries are ours rather than litellm's ``num_retries`` (which the OpenAI SDK turns into its
own retries): those do not retry a malformed or empty response, and have no run-wide budget.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from olist_next_assets.lib.outreach import guardrails
from olist_next_assets.lib.outreach.llm import TEMPLATE_MODEL, litellm, use_disk_cache
from olist_next_assets.lib.outreach.policy import DiscountPolicy, LengthBounds
from olist_next_assets.lib.outreach.prompt import messages, split_email
from olist_next_assets.lib.outreach.redact import mask_secrets

GENERATED, TEMPLATE_FALLBACK, FAILED = "generated", "template_fallback", "failed"
REUSABLE = (GENERATED, TEMPLATE_FALLBACK)
"""Statuses a rerun keeps as they are; every other row (``failed``) is written again."""
DEPLOYMENT = "retention-writer"
RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529}


@dataclass(frozen=True)
class LLMSettings:
    model: str = TEMPLATE_MODEL
    api_base: str | None = None
    api_key: str | None = field(default=None, repr=False)  # from the environment only (dg.EnvVar); never shown
    temperature: float = 0.7
    max_tokens: int = 450
    timeout_seconds: float = 60.0
    num_retries: int = 3
    """Retries of one call on timeouts, dropped connections, 429, 5xx and malformed answers."""
    backoff_seconds: float = 0.5
    """The first wait before a retry; it doubles with each retry (plus up to 25% jitter)..."""
    backoff_max_seconds: float = 8.0
    """... up to this. A 429's Retry-After replaces it, up to ``max_retry_after_seconds``."""
    max_retry_after_seconds: float = 60.0
    """A provider asking to wait longer than this is not retried in this run (the row is left for a rerun)."""
    retry_budget: float = 1.0
    """Retries the whole batch may spend, per e-mail (at least 20): a failing provider can at most double
    the calls of a run."""
    breaker_failures: int = 20
    """After this many e-mails in a row fail on provider errors, the rest of the batch makes no call."""
    concurrency: int = 32
    max_total_tokens: int = 30_000_000
    max_cost_usd: float = 20.0
    cache_dir: str | None = None


@dataclass(frozen=True)
class EmailRequest:
    customer: str
    context: dict[str, Any]
    review: str


@dataclass
class EmailResult:
    customer: str
    subject: str | None = None
    body: str | None = None
    status: str = FAILED
    model: str | None = None
    attempts: int = 0
    """Answers received (the model's, a guardrail retry's, the template's)."""
    guardrail_passed: bool = False
    guardrail_reasons: list[str] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    provider_calls: int = 0
    """Requests sent to the model's provider, failed ones and retries included (cache hits and the
    template fallback excluded): what the provider sees."""
    retries: int = 0
    error: str | None = None

    @property
    def needs_review(self) -> bool:
        return self.status != GENERATED


@dataclass
class _Run:
    """What the calls of one batch share: the token/cost budget, the retry budget, the breaker."""

    max_tokens: int
    max_cost: float
    retries_left: int
    breaker_failures: int
    tokens: int = 0
    cost: float = 0.0
    failures_in_a_row: int = 0

    def exhausted(self) -> bool:
        return self.tokens >= self.max_tokens or self.cost >= self.max_cost

    @property
    def breaker_open(self) -> bool:
        return self.failures_in_a_row >= self.breaker_failures


class ProviderUnavailable(Exception):
    """No call made: the breaker is open after too many failed e-mails in a row."""


class BadResponse(Exception):
    """The provider answered 200 without a usable completion (no choice)."""


class Client:
    """litellm.acompletion with the deployment's settings and a timeout per call; no retries of
    its own (``num_retries=0``, and ``max_retries=0`` for the OpenAI SDK underneath): the writer
    retries. litellm's Router would add load balancing and fallbacks we do not use, at ~2 ms a
    call (40% of a cached rerun); the template fallback after the guardrails is explicit instead."""

    def __init__(self, settings: LLMSettings):
        remote: dict[str, Any] = {"num_retries": 0, "max_retries": 0, "timeout": settings.timeout_seconds}
        if settings.api_base:
            remote["api_base"] = settings.api_base
        if settings.api_key:
            remote["api_key"] = settings.api_key
        self.deployments = {DEPLOYMENT: {"model": settings.model, **remote}, "template": {"model": TEMPLATE_MODEL}}

    async def acompletion(self, model: str, **kwargs: Any):
        return await litellm().acompletion(**self.deployments[model], **kwargs)


def retryable(error: Exception) -> bool:
    """Worth another try: timeouts, dropped connections, 429, 5xx, a response without a completion.
    Not: a refused key, a bad request, a context too long, a content-policy refusal."""
    if isinstance(error, BadResponse | TimeoutError | ConnectionError):
        return True
    status = getattr(error, "status_code", None)
    if status is not None:
        return int(status) in RETRYABLE_STATUS
    module = litellm()
    return isinstance(error, module.Timeout | module.APIConnectionError | module.InternalServerError
                      | module.ServiceUnavailableError | module.RateLimitError)


def retry_after(error: Exception) -> float | None:
    """Seconds the provider asked to wait (``Retry-After``: seconds or an HTTP date), if it did."""
    headers = getattr(error, "litellm_response_headers", None)
    if headers is None:
        response = getattr(error, "response", None)
        headers = getattr(response, "headers", None)
    value = headers.get("retry-after") if headers is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - time.time())


def backoff(error: Exception, retry: int, settings: LLMSettings) -> float | None:
    """How long to wait before retry number ``retry`` (0-based); None: do not retry in this run."""
    asked = retry_after(error)
    if asked is not None:
        return asked if asked <= settings.max_retry_after_seconds else None
    wait = min(settings.backoff_max_seconds, settings.backoff_seconds * 2 ** retry)
    return wait * (1 + random.random() / 4)


async def _call(client, deployment: str, chat: list[dict[str, str]], settings: LLMSettings,
                result: EmailResult, run: _Run) -> tuple[str, str | None]:
    """The answer's text and finish reason, retrying transient failures within the run's budget."""
    for retry in range(settings.num_retries + 1):
        if deployment == DEPLOYMENT and run.breaker_open:
            raise ProviderUnavailable(f"no call made: {run.failures_in_a_row} e-mails in a row failed on provider "
                                      "errors; left for a rerun")
        try:
            return await _call_once(client, deployment, chat, settings, result, run)
        except Exception as error:
            if deployment == DEPLOYMENT and not isinstance(error, BadResponse):
                result.provider_calls += 1  # the request reached (or tried to reach) the provider
            if deployment != DEPLOYMENT or retry == settings.num_retries or not retryable(error):
                raise
            wait = backoff(error, retry, settings)
            if wait is None or run.retries_left <= 0:
                raise
            run.retries_left -= 1
            result.retries += 1
            await asyncio.sleep(wait)
    raise AssertionError("unreachable")


async def _call_once(client, deployment: str, chat: list[dict[str, str]], settings: LLMSettings,
                     result: EmailResult, run: _Run) -> tuple[str, str | None]:
    response = await client.acompletion(model=deployment, messages=chat, temperature=settings.temperature,
                                        max_tokens=settings.max_tokens, caching=settings.cache_dir is not None)
    hidden = getattr(response, "_hidden_params", {}) or {}
    cached = bool(hidden.get("cache_hit"))
    if deployment == DEPLOYMENT and not cached:
        result.provider_calls += 1
    if not getattr(response, "choices", None):
        raise BadResponse("the provider answered without a completion (no choices)")
    choice = response.choices[0]
    result.attempts += 1
    text = choice.message.content or ""
    finish = getattr(choice, "finish_reason", None)
    if cached:
        return text, finish  # answered from the cache: no call, no tokens, no cost
    usage = getattr(response, "usage", None)
    if usage is not None:
        result.prompt_tokens += int(usage.prompt_tokens or 0)
        result.completion_tokens += int(usage.completion_tokens or 0)
        run.tokens += int(usage.total_tokens or 0)
    cost = hidden.get("response_cost")  # litellm prices the call while logging it
    if cost is None:
        try:
            cost = litellm().completion_cost(completion_response=response)
        except Exception:  # noqa: BLE001 - models without a price (local, custom) cost nothing here
            cost = 0.0
    cost = float(cost or 0.0)
    result.cost_usd += cost
    run.cost += cost
    result.model = response.model or settings.model
    return text, finish


def _verdict(text: str, finish: str | None, context: dict[str, Any], policy: DiscountPolicy,
             bounds: LengthBounds) -> tuple[str, str, guardrails.Verdict]:
    subject, body = split_email(text)
    verdict = guardrails.check(subject, body, context, policy, bounds)
    if finish == "length":
        verdict.reasons.append("cut off at the token limit (finish_reason=length)")
    return subject, body, verdict


async def _write_one(client, request: EmailRequest, settings: LLMSettings, policy: DiscountPolicy,
                     bounds: LengthBounds, run: _Run, gate: asyncio.Semaphore) -> EmailResult:
    result = EmailResult(request.customer)
    chat = messages(request.context, request.review)
    async with gate:
        started = time.perf_counter()
        try:
            for attempt in range(2):  # the first answer, then one retry with the reasons
                if run.exhausted():
                    result.error = "run token or cost budget exhausted before this e-mail"
                    return result
                text, finish = await _call(client, DEPLOYMENT, chat, settings, result, run)
                run.failures_in_a_row = 0
                subject, body, verdict = _verdict(text, finish, request.context, policy, bounds)
                if verdict.passed:
                    result.subject, result.body, result.status = subject, body, GENERATED
                    result.guardrail_passed = True
                    result.guardrail_reasons = [f"attempt {attempt + 1} passed", *result.guardrail_reasons] if attempt \
                        else []
                    return result
                result.guardrail_reasons = verdict.reasons
                chat = [*chat, {"role": "assistant", "content": text[:4000]},
                        {"role": "user", "content": "Your e-mail broke these rules: " + "; ".join(verdict.reasons)
                         + ". Rewrite it following every rule."}]
            text, finish = await _call(client, "template", messages(request.context, request.review), settings,
                                       result, run)
            subject, body, verdict = _verdict(text, finish, request.context, policy, bounds)
            result.subject, result.body, result.status = subject, body, TEMPLATE_FALLBACK
            result.guardrail_passed = verdict.passed
            result.guardrail_reasons = [*result.guardrail_reasons, *verdict.reasons]
            result.model = TEMPLATE_MODEL
        except Exception as error:  # noqa: BLE001 - any provider failure leaves the row for review, never a fake e-mail
            if not isinstance(error, ProviderUnavailable):
                run.failures_in_a_row += 1
            result.subject = result.body = None
            result.status, result.guardrail_passed = FAILED, False
            result.error = describe(error, settings.api_key)
        finally:
            result.latency_ms = (time.perf_counter() - started) * 1000
    return result


def describe(error: Exception, secret: str | None) -> str:
    """What went wrong, for the reviewer: the error type, HTTP status and a short message. The API
    key (should a provider echo it) and anything shaped like a key are masked before the message
    is shortened, so that no part of a key survives."""
    status = getattr(error, "status_code", None)
    message = mask_secrets(" ".join(str(error).split()), secret)[:160]
    return f"{type(error).__name__}{f' (HTTP {status})' if status else ''}: {message}"


async def write_batch_async(requests: Sequence[EmailRequest], settings: LLMSettings, policy: DiscountPolicy,
                            bounds: LengthBounds) -> list[EmailResult]:
    use_disk_cache(settings.cache_dir)
    client = Client(settings)
    run = _Run(settings.max_total_tokens, settings.max_cost_usd,
               retries_left=retry_allowance(len(requests), settings),
               breaker_failures=settings.breaker_failures)
    gate = asyncio.Semaphore(settings.concurrency)
    return list(await asyncio.gather(*(_write_one(client, r, settings, policy, bounds, run, gate) for r in requests)))


def retry_allowance(emails: int, settings: LLMSettings) -> int:
    """The retries a batch of ``emails`` e-mails may spend."""
    return max(20, int(emails * settings.retry_budget))


def write_batch(requests: Sequence[EmailRequest], settings: LLMSettings, policy: DiscountPolicy,
                bounds: LengthBounds) -> list[EmailResult]:
    return asyncio.run(write_batch_async(requests, settings, policy, bounds))
