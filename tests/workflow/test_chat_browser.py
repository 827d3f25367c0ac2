"""The chat UI as a person uses it: `python -m climatune.chat` serves a tiny random Llama and a BM25
index on 127.0.0.1, and Debian's Chromium, driven by Playwright, picks the tuned model with retrieval,
asks a question, waits for the streamed answer and the sources, then asks the base model without
retrieval. The page must render offline: any request that leaves 127.0.0.1 is blocked and fails the
test. The screenshot is kept in artifacts/ (or $CLIMATUNE_ARTIFACTS)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

from ..conftest import CHROMIUM, CHROMIUM_ARGS, keep_artifact, needs_chromium
from ..unit.test_chat import QUESTION, write_chat_inputs

TIMEOUT_MS = 60_000

pytestmark = [pytest.mark.slow, needs_chromium]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen, log: Path, seconds: float = 120) -> None:
    """Until `url` answers; fails with the server's log if it exits or never answers."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if proc.poll() is not None:
            pytest.fail(f"the chat server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"the chat server did not answer on {url} within {seconds:.0f} s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def server(tmp_path, tiny_model_dir):
    """The app in its own process, as `python -m climatune.chat` starts it; yields its URL."""
    inputs = write_chat_inputs(tmp_path / "results", tiny_model_dir)
    port, log = free_port(), tmp_path / "chat.log"
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    cmd = [sys.executable, "-m", "climatune.chat", "--base", str(inputs.base), "--tuned", str(inputs.tuned),
           "--chunks", str(inputs.chunks), "--index", str(inputs.index[0]), "--index-type", "bm25",
           "--host", "127.0.0.1", "--port", str(port), "--passages", "2", "--max-new-tokens", "24",
           "--temperature", "0.8", "--log", str(log)]
    with open(tmp_path / "chat.out", "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for(url, proc, tmp_path / "chat.out")
        yield url, log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def ask(page, question: str, system: str) -> None:
    """Type and send a question; return once the answer has streamed: the status line then names the
    system and counts its tokens (a pattern the previous answer's status cannot match)."""
    from playwright.sync_api import expect

    page.locator("#question textarea").fill(question)
    page.locator("#ask").click()
    pattern = re.compile(re.escape(system) + r" · \d+ tokens in [\d.]+ s")
    expect(page.locator("#status")).to_contain_text(pattern, timeout=TIMEOUT_MS)


def test_a_person_asks_the_tuned_model_with_retrieval(server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    url, log = server
    outside: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 1100})
        page.route(lambda u: urlparse(u).hostname not in ("127.0.0.1", "localhost"),
                   lambda route: (outside.append(route.request.url), route.abort()))
        page.goto(url, wait_until="load", timeout=TIMEOUT_MS)
        expect(page.get_by_text("climatune chat")).to_be_visible(timeout=TIMEOUT_MS)

        page.locator("#model").get_by_label("tuned").check()
        page.locator("#rag").get_by_role("checkbox").check()
        ask(page, QUESTION, "tuned + RAG (bm25)")
        sources = page.locator("#sources")
        expect(sources).to_contain_text("2 passages, bm25 index")
        expect(sources.locator("li").first).to_contain_text("sea_level_report, p. 2")
        expect(sources.locator("li").first).to_contain_text("rose by 3.7 millimetres per year")
        expect(sources.locator("li").nth(1)).to_contain_text("heat_report, p. 1")
        chat = page.locator("#chat")
        expect(chat).to_contain_text(QUESTION)
        expect(chat).to_contain_text("tuned + RAG (bm25) · Sources: [1] sea_level_report, p. 2 · [2] heat_report, p. 1")
        shot = tmp_path / "chat_tuned_rag.png"
        page.screenshot(path=str(shot), full_page=True)

        page.locator("#model").get_by_label("base").check()
        page.locator("#rag").get_by_role("checkbox").uncheck()
        ask(page, "What stores carbon?", "base, no retrieval")
        expect(page.locator("#sources")).to_contain_text("retrieval is off")
        expect(chat).to_contain_text("What stores carbon?")
        expect(chat.locator(".message").last).to_contain_text("base, no retrieval")
        text = page.locator("body").inner_text()
        browser.close()
    assert text.count(QUESTION) == 1 and "Traceback" not in text
    assert not outside, f"the page tried to leave 127.0.0.1: {outside}"
    assert f"chat UI on {url.rstrip('/')}" in log.read_text()
    assert shot.stat().st_size > 10_000
    keep_artifact(shot)
