"""litellm, set up once: offline flags, the project's providers, the disk cache.

``import litellm`` fetches a model cost map from the internet unless told not to, so this is the
only place that imports it. The ``olist`` provider is registered here:

* ``olist/template``: the offline default, a real litellm provider that writes the e-mail from
  the context in the prompt (:mod:`olist_next_assets.lib.outreach.template`);
* ``olist/gguf``: a local GGUF model served in process by xllamacpp (optional extra ``local-llm``).
"""

from __future__ import annotations

import os
import threading
import time
from functools import cache
from typing import Any

OFFLINE_ENV = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_OFFLINE_MODE": "true", "LITELLM_LOG": "ERROR"}
TEMPLATE_MODEL = "olist/template"
_cache_lock = threading.Lock()


@cache
def litellm():
    """The litellm module, imported offline with the project's provider registered (once)."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    import litellm as module

    module.suppress_debug_info = True
    module.telemetry = False
    # priced at zero: without an entry litellm scans its whole price map on every call (~7 ms)
    module.register_model({f"olist/{name}": {"input_cost_per_token": 0.0, "output_cost_per_token": 0.0,
                                             "litellm_provider": "olist", "mode": "chat", "max_tokens": 4096}
                           for name in ("template", "gguf")})
    module.custom_provider_map = [
        *[p for p in module.custom_provider_map if p.get("provider") != "olist"],
        {"provider": "olist", "custom_handler": _provider()},
    ]
    return module


def use_disk_cache(directory: str | None) -> None:
    """Cache completions on disk, keyed by litellm on model, messages and parameters: a rerun of a
    week answers from the cache and makes no new calls.

    litellm 1.110 removed its ``disk`` cache backend. Its ``Cache`` still derives the keys, checks
    and records hits; only the storage is ours: a ``BaseCache`` over ``diskcache`` (SQLite files).
    """
    module = litellm()
    with _cache_lock:
        if directory is None:
            module.cache = None
            return
        if getattr(module.cache, "_olist_dir", None) == directory:
            return
        from litellm.caching.caching import Cache

        cache = Cache(type="local")
        cache.cache = _disk_backend(directory)
        cache._olist_dir = directory
        module.cache = cache


def _disk_backend(directory: str):
    import diskcache
    from litellm.caching.base_cache import BaseCache

    class DiskBackend(BaseCache):
        def __init__(self) -> None:
            super().__init__(default_ttl=0)
            self.store = diskcache.Cache(directory)

        def set_cache(self, key, value, **kwargs):
            self.store.set(key, value)

        async def async_set_cache(self, key, value, **kwargs):
            self.set_cache(key, value)

        async def async_set_cache_pipeline(self, cache_list, **kwargs):
            for key, value in cache_list:
                self.set_cache(key, value)

        def get_cache(self, key, **kwargs):
            return self.store.get(key)

        async def async_get_cache(self, key, **kwargs):
            return self.get_cache(key)

        def batch_get_cache(self, keys, **kwargs):
            return [self.get_cache(k) for k in keys]

        async def async_batch_get_cache(self, keys, **kwargs):
            return self.batch_get_cache(keys)

        async def batch_cache_write(self, key, value, **kwargs):
            self.set_cache(key, value)

        def flush_cache(self):
            self.store.clear()

        async def disconnect(self):
            self.store.close()

    return DiskBackend()


def _provider():
    from litellm import CustomLLM
    from litellm.types.utils import ModelResponse, Usage

    from olist_next_assets.lib.outreach import template
    from olist_next_assets.lib.outreach.guardrails import safe_to_quote
    from olist_next_assets.lib.outreach.policy import DiscountPolicy
    from olist_next_assets.lib.outreach.prompt import parse_request

    def respond(model: str, text: str, messages: list[dict[str, str]], started: float) -> ModelResponse:
        response = ModelResponse(model=model)
        response.choices[0].message.content = text
        prompt_chars = sum(len(m["content"]) for m in messages)
        # the template counts tokens as characters / 4 (no tokenizer is needed offline)
        response.usage = Usage(prompt_tokens=prompt_chars // 4, completion_tokens=len(text) // 4,
                               total_tokens=(prompt_chars + len(text)) // 4)
        response._response_ms = (time.perf_counter() - started) * 1000
        return response

    class OlistProvider(CustomLLM):
        """``olist/template`` and ``olist/gguf``."""

        def completion(self, model: str, messages: list[dict[str, str]], *args: Any, **kwargs: Any) -> ModelResponse:
            started = time.perf_counter()
            name = model.split("/", 1)[-1]
            if name == "template":
                context, review = parse_request(messages)
                policy = DiscountPolicy(percent=int(context["discount"].split("%")[0]))
                text = template.write(context, review if safe_to_quote(review, policy) else "")
            elif name == "gguf":
                from olist_next_assets.lib.outreach.local_model import complete

                params = kwargs.get("optional_params") or {}
                text = complete(messages, max_tokens=int(params.get("max_tokens", 400)),
                                temperature=float(params.get("temperature", 0.2)))
            else:
                raise ValueError(f"unknown olist model {model!r}: use olist/template or olist/gguf")
            return respond(f"olist/{name}", text, messages, started)

        async def acompletion(self, model: str, messages: list[dict[str, str]], *args: Any, **kwargs: Any) -> ModelResponse:
            if model.split("/", 1)[-1] == "gguf":  # CPU-bound: keep the event loop free
                import asyncio

                return await asyncio.to_thread(self.completion, model, messages, *args, **kwargs)
            return self.completion(model, messages, *args, **kwargs)

    return OlistProvider()
