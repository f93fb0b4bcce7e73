"""The app in a real browser (headless Debian Chromium through Playwright): pick a section, get a
question, answer it, see the grade card and a cited passage; two tabs at once; nothing fetched off
this machine. One run on the fake coach (fast), one on the real default model (slow)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from browser import chromium_page, free_port, practise_one_answer, wait_for_page

pytestmark = pytest.mark.browser
SEED = 1  # the fake corpus maps both roadmap questions to 1.1: this seed asks the TCP one first
ANSWER = ("The initiator sends FIN and enters FIN_WAIT_1; the receiver ACKs and enters CLOSE_WAIT. TIME_WAIT "
          "exists so that delayed packets do not corrupt new connections on the same tuple.")


@pytest.fixture
def fake_app(cfg, backends, tmp_path):
    """The app on the real composition root over fakes (hashing embedder, in-memory vectors,
    scripted chat model), served on a free loopback port in this process."""
    from dataclasses import replace

    from coach.app import layout as ui
    from coach.root import Coach

    from fakes import ScriptedChatModel

    coach = Coach(cfg, replace(backends, chat=ScriptedChatModel([_reply] * 500)), seed=SEED)
    coach.index()
    db = coach.db
    app = ui.build_app(db, coach, coach.retriever.corpus.sections)
    port = free_port()
    app.queue().launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                       theme=ui.THEME, css=ui.CSS, ssr_mode=False, footer_links=[])
    try:
        yield f"http://127.0.0.1:{port}/", db
    finally:
        app.close()


FEEDBACK = "Good: both port ranges. Say what TIME_WAIT protects."


def _reply(messages, schema):
    if schema is None:
        return FEEDBACK
    if "questions" in schema.get("properties", {}):
        return {"questions": ["How does the OOM killer pick its victim process?"]}
    return {"verdict": "yes"}


def test_practise_a_section_in_the_browser(fake_app, tmp_path):
    from playwright.sync_api import expect

    url, store = fake_app
    with chromium_page() as (page, external):
        timings = practise_one_answer(page, url, "1.1 · TCP Deep Dive", ANSWER, timeout_ms=60_000)
        card = page.locator("#section-card")
        expect(card).to_contain_text(re.compile(r"Score \d+(\.\d)?/10"))
        expect(card).to_contain_text(FEEDBACK)
        chat = page.locator("#section-chat")
        chat.get_by_text("Sources [1.1]").click()
        expect(chat.get_by_text("Section 1 — Networking > 1.1 TCP Deep Dive", exact=False).first).to_be_visible()
        shot = tmp_path / "practise-section.png"
        page.screenshot(path=str(shot), full_page=True)

        # a second tab at the same time: its own session, nothing mixed
        page2 = page.context.new_page()
        practise_one_answer(page2, url, "2.1 · Memory", "oom_score_adj picks the victim", timeout_ms=60_000)
        expect(page2.locator("#section-chat")).not_to_contain_text("FIN_WAIT_1; the receiver")
        expect(chat).not_to_contain_text("oom_score_adj picks")

        # the browser is closed and comes back: the session can be resumed, the progress is there
        sid = store.latest_open("section").id
        page.close()
        page2.close()
        page = page.context.new_page()
        page.goto(url)
        page.get_by_role("tab", name="Practise a section").click()
        page.locator("#section-resume-box").get_by_text("Resume a saved session").click()
        page.locator("#section-resume").click()  # the most recent session is preselected
        expect(page.locator("#section-chat")).to_contain_text("oom_score_adj picks the victim", timeout=60_000)
        expect(page.locator("#section-chat")).to_contain_text("Score")
        page.get_by_role("tab", name="Progress").click()
        expect(page.locator("#progress-note")).to_contain_text("2 graded answers", timeout=60_000)
        expect(page.locator("#progress-sessions")).to_contain_text(sid)
        # both charts drawn (Vega renders them in the page, from Gradio's bundled JS)
        for chart in ("#progress-scores", "#progress-mastery"):
            expect(page.locator(f"{chart} svg, {chart} canvas").first).to_be_visible(timeout=60_000)
        expect(page.locator("#progress-scores")).to_contain_text("score")
        page.screenshot(path=str(tmp_path / "progress.png"), full_page=True)
        assert external == [], f"the page fetched off-machine URLs: {external}"
    sessions = store.sessions()
    assert sorted(s.session.section for s in sessions) == ["1.1", "2.1"] and all(s.answered == 1 for s in sessions)
    print(f"\nscreenshot: {shot}\ntimings: {json.dumps(timings)}")


REAL_ANSWER = ("TCP opens with a three-way handshake: the client sends SYN with its initial sequence number, the "
               "server answers SYN-ACK with its own, and the client ACKs. Closing takes four steps with FIN and "
               "ACK, and the side that closes first waits in TIME_WAIT for 2*MSL so delayed segments cannot "
               "corrupt a new connection on the same 4-tuple.")


@pytest.mark.slow
def test_real_model_in_the_browser(tmp_path):
    """`coach serve` with the real default model and index (run `make setup` first). Records the cold
    start (command to usable page), the turns' latencies and the card of an answer typed key by key
    (read ahead while typed) in <tmp>/timings.json."""
    from playwright.sync_api import expect

    from coach.config import load
    from coach.root import Coach

    label = next(f"{s.id} · {s.title}" for s in Coach(load()).corpus().sections if s.id == "3.1")
    port = free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "OMP_WAIT_POLICY": "passive"}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "coach.cli", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_for_page(url, timeout=180, proc=proc)
        with chromium_page() as (page, external):
            page.goto(url)
            expect(page.get_by_role("tab", name="Practise a section")).to_be_visible(timeout=60_000)
            cold_start = time.perf_counter() - t0
            timings = practise_one_answer(page, url, label, REAL_ANSWER, timeout_ms=600_000)
            expect(page.locator("#section-card")).to_contain_text(re.compile(r"Score \d+(\.\d)?/10"))
            page.locator("#section-chat").get_by_text(re.compile(r"Sources \[")).last.click()
            expect(page.locator("#section-chat").get_by_text("[3.", exact=False).last).to_be_visible()
            # a second turn: the model is loaded now
            page.locator("#section-next").click()
            expect(page.locator("#section-chat [data-testid=status-tracker]").first).to_have_class(
                re.compile(r"\bhide\b"), timeout=600_000)
            t1 = time.perf_counter()
            page.locator("#section-answer textarea").fill(REAL_ANSWER)
            page.locator("#section-submit").click()
            expect(page.locator("#section-chat")).to_contain_text(re.compile(r"Score .*Score", re.S), timeout=600_000)
            t_card2 = time.perf_counter() - t1
            expect(page.locator("#section-chat [data-testid=status-tracker]").first).to_have_class(
                re.compile(r"\bhide\b"), timeout=600_000)
            t_turn2 = time.perf_counter() - t1
            # a third answer typed key by key (~250 words a minute): the grader reads it as it comes
            page.locator("#section-next").click()
            expect(page.locator("#section-chat [data-testid=status-tracker]").first).to_have_class(
                re.compile(r"\bhide\b"), timeout=600_000)
            page.locator("#section-answer textarea").press_sequentially(REAL_ANSWER, delay=40)
            t1 = time.perf_counter()
            page.locator("#section-submit").click()
            expect(page.locator("#section-chat")).to_contain_text(re.compile(r"Score .*Score .*Score", re.S),
                                                                  timeout=600_000)
            t_card3 = time.perf_counter() - t1
            expect(page.locator("#section-chat [data-testid=status-tracker]").first).to_have_class(
                re.compile(r"\bhide\b"), timeout=600_000)
            page.screenshot(path=str(tmp_path / "real-model.png"), full_page=True)
            assert external == [], f"the page fetched off-machine URLs: {external}"
        result = {"cold_start_to_page_s": round(cold_start, 1), **{k: round(v, 1) for k, v in timings.items()},
                  "second_grade_card_s": round(t_card2, 1), "second_turn_s": round(t_turn2, 1),
                  "typed_grade_card_s": round(t_card3, 1)}
        (tmp_path / "timings.json").write_text(json.dumps(result, indent=1))
        print(f"\nreal-model timings: {json.dumps(result)}\nscreenshot: {tmp_path / 'real-model.png'}")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _start_fake(data, port, **slow):
    args = [sys.executable, str(Path(__file__).parent / "serve_fake.py"), "--port", str(port), "--data", str(data)]
    for k, v in slow.items():
        args += [f"--{k.replace('_', '-')}", str(v)]
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    wait_for_page(url, 120, proc)
    return proc, url


def _kill(proc):
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def _cards(page):
    return page.locator("#section-chat").get_by_text(re.compile(r"Score \d+(\.\d)?/10"))


def test_a_killed_server_loses_nothing_the_user_saw(tmp_path):
    """The whole path on a fresh data dir, with the server killed (SIGKILL) twice: while feedback
    streams (the grade on screen must survive) and while an answer is graded (the answer must be
    graded on resume). Then the progress tab shows the three answers."""
    from playwright.sync_api import expect

    answers = [ANSWER, "The receiver ACKs the FIN and enters CLOSE_WAIT; the initiator waits in FIN_WAIT_2.",
               "TIME_WAIT lasts twice the maximum segment lifetime so delayed segments die out."]
    procs = []
    try:
        with chromium_page() as (page, external):
            proc, url = _start_fake(tmp_path, free_port(), slow_feedback=0.4)
            procs.append(proc)
            practise_one_answer(page, url, "1.1 · TCP Deep Dive", answers[0], timeout_ms=60_000)
            # 2: killed while its feedback streams, the score card already on screen
            page.locator("#section-answer textarea").fill(answers[1])
            page.locator("#section-submit").click()
            expect(_cards(page)).to_have_count(2, timeout=60_000)
            _kill(proc)
            proc, url = _start_fake(tmp_path, free_port(), slow_grading=5)
            procs.append(proc)
            page.goto(url)
            expect(page.locator("#resume-offer")).to_contain_text("Unfinished session")
            expect(page.locator("#resume-offer")).to_contain_text("2 answered")
            page.locator("#resume-offer-go").click()
            chat = page.locator("#section-chat")
            expect(chat).to_contain_text("CLOSE_WAIT; the initiator waits in FIN_WAIT_2")
            expect(_cards(page)).to_have_count(2)
            # 3: killed while it is graded (the model takes seconds per key point here)
            page.locator("#section-answer textarea").fill(answers[2])
            page.locator("#section-submit").click()
            expect(chat).to_contain_text("maximum segment lifetime")
            time.sleep(2)
            _kill(proc)
            proc, url = _start_fake(tmp_path, free_port())
            procs.append(proc)
            page.goto(url)
            page.locator("#resume-offer-go").click()
            expect(chat).to_contain_text("not graded before the coach stopped", timeout=60_000)
            expect(_cards(page)).to_have_count(3, timeout=60_000)
            page.get_by_role("tab", name="Progress").click()
            expect(page.locator("#progress-note")).to_contain_text("3 graded answers", timeout=60_000)
            expect(page.locator("#progress-scores svg, #progress-scores canvas").first).to_be_visible(timeout=60_000)
            assert external == []
            # no script errors (Vega's date format and empty charts used to throw)
            assert not [e for e in external.console if "vega" in e.lower() or "marktype" in e or "format" in e], \
                external.console
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    from coach.session.store import Store

    store = Store(tmp_path / "data" / "progress.db")
    (summary,) = store.sessions()
    turns = store.turns(summary.session.id)
    assert [t.answer for t in turns] == answers and all(t.grade is not None for t in turns)
    assert turns[0].feedback and store.session(summary.session.id).pending_answer == ""
