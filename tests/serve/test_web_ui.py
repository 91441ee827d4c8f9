"""End-to-end tests of the web UI in a real headless Chromium (Debian's /usr/bin/chromium, driven
by Python playwright; ``playwright install`` is never run).

One real uvicorn server per module serves a workspace with a small intent dataset (three
intents, sentences made of a greeting and a request). The champion is a tfidf-linear model
trained on two sentences per intent, so it is poor; the annotator labels the uncertain
predictions with the keyboard, clients send corrections, and the admin's "Retrain now" button
must promote a significantly better challenger and show it with its figures.
"""

from __future__ import annotations

import csv
import json
import os
import random
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-dev-shm-usage"]
MODEL = "intents"
GREETINGS = ["hi,", "hello there,", "good morning,", "excuse me,", "quick question:", "please help:"]
REQUESTS = {
    "refund": ["I want my money back for the broken kettle", "please return the payment for my cancelled order",
               "how do I get a refund on the shoes I sent back", "the charge was wrong and I need it reimbursed",
               "can you credit my card for the damaged lamp", "I was billed twice, please give one payment back",
               "refund the subscription fee I never used", "the jacket did not fit so I expect my cash returned"],
    "delivery": ["where is my parcel, it has not arrived", "the courier never showed up with the package",
                 "tracking says shipped a week ago but nothing came", "when will the order be delivered to my house",
                 "my box is stuck at the depot", "the driver left the delivery at the wrong address",
                 "shipping is late again for my order", "can you tell me the arrival date of my shipment"],
    "password": ["I forgot my password and cannot sign in", "the login page says my credentials are wrong",
                 "how do I reset the password on my account", "my account is locked after too many attempts",
                 "the verification code for sign in never reaches me", "I cannot log into the app anymore",
                 "please unlock my profile, access is blocked", "two factor authentication keeps failing for me"],
}
XSS_TEXT = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script> refund my <b>money</b> please'
NONSENSE = "zzz qqq vvv www"
ANNOTATED = 7
"""Dataset sentences the annotator labels in the browser (plus the XSS text and the nonsense one)."""

pytestmark = pytest.mark.timeout(300)


def _chromium_or_skip() -> None:
    """Skip (fail under CI) when Debian's chromium or playwright is missing."""
    problem = None
    if not CHROMIUM.is_file():
        problem = f"{CHROMIUM} is missing (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "python playwright is not installed (pip install playwright)"
    if problem:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)


def _sentences(seed: int = 0) -> tuple[list[tuple[str, str]], list[tuple[str, str]], list[tuple[str, str]]]:
    """(champion training rows, frozen test rows, feedback pool) of (text, intent); 2 / 16 / 30 per intent."""
    rng = random.Random(seed)
    train, test, pool = [], [], []
    for intent, requests in REQUESTS.items():
        rows = [(f"{g} {r}", intent) for r in requests for g in GREETINGS]
        rng.shuffle(rows)
        train += rows[:2]
        test += rows[2:18]
        pool += rows[18:]
    rng.shuffle(pool)
    return train, test, pool


def _write_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "intent"])
        writer.writerows(rows)
    return path


@dataclass
class Site:
    """The running server and what the tests need to know about its data."""

    url: str
    app: Any
    keys: dict[str, str]
    pool: list[tuple[str, str]]
    intent_of: dict[str, str] = field(default_factory=dict)

    @property
    def dm(self) -> Any:
        return self.app.state.dm

    def client(self, role: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.keys[role]}"}, timeout=60)


@contextmanager
def _serving(workspace_root: Path, **settings: Any) -> Iterator[tuple[str, Any]]:
    """Serve ``workspace_root`` with a real uvicorn on 127.0.0.1 (a free port); yields (url, app).

    settings: ServeSettings fields beyond the test defaults (fast model reload and key cache).
    """
    import uvicorn

    from datamoat.serve.app import create_app
    from datamoat.serve.settings import ServeSettings

    app = create_app(workspace_root, settings=ServeSettings(**{"reload_interval_s": 0.5, "key_cache_s": 0.5, **settings}))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, name="webui-test-server", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or not thread.is_alive():
                pytest.fail("the test server did not start")
            time.sleep(0.1)
        yield url, app
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _workspace(root: Path, train: list[tuple[str, str]], test: list[tuple[str, str]], *,
               profile: bool = False) -> dict[str, str]:
    """A workspace at ``root/ws`` with a tfidf-linear champion of ``train`` tested on ``test``; returns
    plaintext keys by role."""
    from datamoat.models.training import train_model
    from datamoat.serve.api_keys import create_key
    from datamoat.workspace import Workspace

    ws = Workspace.init(root / "ws")
    try:
        version = ws.ingest(_write_csv(root / "train.csv", train), name=MODEL, text="text", label="intent")
        ws.ingest(_write_csv(root / "test.csv", test), name=f"{MODEL}-test", text="text", label="intent")
        if profile:
            from datamoat.quality.profile import profile_version
            from datamoat.quality.report import write_report

            write_report(profile_version(version, checks=["missing_values", "class_imbalance"]),
                         ws.state / "reports" / f"{version.dataset}-{version.ordinal}-profile.html")
        train_model(ws, f"{MODEL}@latest", model="tfidf-linear", test=f"{MODEL}-test@latest", learning_curve=False)
        return {"admin": create_key(ws.catalog, "admin", name="ada")[0],
                "annotator": create_key(ws.catalog, "annotator", name='<b id="injected">ann</b>')[0],
                "annotator2": create_key(ws.catalog, "annotator", name="bob")[0],
                "client": create_key(ws.catalog, "client", name="shop")[0]}
    finally:
        ws.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A workspace with a poor champion and keys, served by uvicorn on 127.0.0.1."""
    root = tmp_path_factory.mktemp("webui")
    train, test, pool = _sentences()
    keys = _workspace(root, train, test, profile=True)
    intent_of = {t: i for t, i in pool}
    intent_of[XSS_TEXT] = "refund"
    with _serving(root / "ws") as (url, app):
        yield Site(url=url, app=app, keys=keys, pool=pool, intent_of=intent_of)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian chromium, one per module (skipped without it; a failure under CI)."""
    _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _page(browser: Any, site: Site, requests: list[str] | None = None) -> Any:
    """A fresh page (own cookies) that fails the test on page errors and records every request URL."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource") else None)
    if requests is not None:
        page.on("request", lambda req: requests.append(req.url))
    page.errors = errors  # type: ignore[attr-defined]
    return page


def _login(page: Any, site: Site, role: str) -> None:
    page.goto(f"{site.url}/ui/login")
    page.fill("#key", site.keys[role])
    page.click("#login-form button[type=submit]")
    page.wait_for_load_state("domcontentloaded")


def test_login_redirects_roles_and_escaping(site: Site, browser: Any, tmp_path: Path) -> None:
    page = _page(browser, site)
    # no key: every page sends the browser to the login form, remembering where it wanted to go
    page.goto(f"{site.url}/ui/annotate")
    assert page.url == f"{site.url}/ui/login?next=/ui/annotate"
    page.goto(f"{site.url}/ui/")
    assert page.url == f"{site.url}/ui/login"
    # a wrong key stays on the form with a message
    page.fill("#key", "dm_000000000000_" + "x" * 43)
    page.click("#login-form button[type=submit]")
    assert "not valid" in page.text_content(".error")
    page.screenshot(path=str(tmp_path / "login.png"), full_page=True)
    assert not [c for c in page.context.cookies() if c["name"] == "datamoat_key"]
    # a client key may log in but not annotate: a 403 page
    _login(page, site, "client")
    response = page.goto(f"{site.url}/ui/annotate")
    assert response.status == 403
    assert "Not allowed" in page.text_content("h1")
    assert "client" in page.text_content("#whoami")
    cookie = next(c for c in page.context.cookies() if c["name"] == "datamoat_key")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert page.evaluate("document.cookie") == ""  # HttpOnly: scripts cannot read the key
    page.screenshot(path=str(tmp_path / "forbidden.png"), full_page=True)
    # log out: the cookie is gone, pages redirect again
    page.click("header form button")
    page.wait_for_url(f"{site.url}/ui/login")
    page.goto(f"{site.url}/ui/models")
    assert page.url.startswith(f"{site.url}/ui/login")
    # the annotator's key name is markup-like: it is shown as text, never as markup
    _login(page, site, "annotator")
    assert page.url == f"{site.url}/ui/"
    assert '<b id="injected">ann</b>' in page.text_content("#whoami")
    assert page.query_selector("#injected") is None
    assert "annotator" in page.text_content("#whoami")
    assert MODEL in page.text_content("#served-model")
    page.goto(f"{site.url}/ui/datasets")
    link = page.query_selector(f'a[href="/ui/reports/{MODEL}-1-profile.html"]')
    assert link is not None
    page.screenshot(path=str(tmp_path / "datasets.png"), full_page=True)
    assert not page.errors
    page.context.close()


def test_reports_static_files_and_json_routes(site: Site) -> None:
    with site.client("annotator") as c:
        ok = c.get(f"/ui/reports/{MODEL}-1-profile.html")
        assert ok.status_code == 200 and ok.headers["content-type"].startswith("text/html")
        assert "sandbox" in ok.headers["content-security-policy"]
        for bad in ("..%2Fcatalog.db", "..%2F..%2Fdatamoat.yaml", "%2Fetc%2Fpasswd", "catalog.db",
                    ".gitignore", "...html", "x.html"):
            assert c.get(f"/ui/reports/{bad}").status_code == 404, bad
        # ids the database cannot hold are the client's error, not the server's
        assert c.get("/ui/annotate/ranking", params={"ids": str(2**70)}).status_code == 422
    with site.client("client") as c:
        assert c.get(f"/ui/reports/{MODEL}-1-profile.html").status_code == 403
        assert c.get("/ui/annotate/ranking", params={"ids": "1"}).status_code == 403
    assert httpx.get(f"{site.url}/ui/reports/{MODEL}-1-profile.html").status_code == 303
    assert httpx.get(f"{site.url}/ui/annotate/ranking", params={"ids": "1"}).status_code == 401
    # static files: only the UI's own, cacheable (versioned URLs); no key needed
    plotly = httpx.get(f"{site.url}/ui/static/plotly.min.js")
    assert plotly.status_code == 200 and "immutable" in plotly.headers["cache-control"]
    assert httpx.get(f"{site.url}/ui/static/catalog.db").status_code == 404


def test_models_page_draws_plotly_offline(site: Site, browser: Any, tmp_path: Path) -> None:
    requests: list[str] = []
    page = _page(browser, site, requests)
    _login(page, site, "annotator")
    page.goto(f"{site.url}/ui/models")
    page.wait_for_selector("#models-chart.js-plotly-plot .main-svg", timeout=30_000)
    assert page.query_selector_all("#models-chart .plotly")
    assert f"{MODEL}@1" in page.text_content("#models-table")
    assert page.query_selector(f'#models-table a[href="/ui/reports/model-{MODEL}-1.html"]') is not None
    page.screenshot(path=str(tmp_path / "models.png"), full_page=True)
    assert requests and all(u.startswith(site.url + "/") for u in requests), [
        u for u in requests if not u.startswith(site.url + "/")]
    assert any("/ui/static/plotly.min.js" in u for u in requests)
    assert not page.errors, page.errors
    page.context.close()


def _wait_next(page: Any, record_id: str) -> None:
    """Wait until the annotation page shows another record (or the empty queue)."""
    page.wait_for_function(
        "rid => { const item = document.querySelector('#item');"
        " return item.hidden || item.dataset.recordId !== rid; }", arg=record_id, timeout=20_000)


def _label_shown_item(page: Any, site: Site, done: dict[str, tuple[str, str]]) -> None:
    """Label (or discard) the item on screen with the keyboard; remember what was done."""
    record_id = page.get_attribute("#item", "data-record-id")
    text = page.text_content("#item-text")
    if text == NONSENSE:
        page.keyboard.press("x")
        done[record_id] = ("discarded", "")
    else:
        intent = site.intent_of[text]
        shown = [b.get_attribute("data-label") for b in page.query_selector_all("#labels button")]
        page.keyboard.press(str(shown.index(intent) + 1))
        assert page.get_attribute(f'#labels button[data-label="{intent}"]', "aria-pressed") == "true"
        page.keyboard.press("Enter")
        done[record_id] = ("ready", intent)
    _wait_next(page, record_id)


def test_annotate_with_the_keyboard_then_retrain_promotes(site: Site, browser: Any, tmp_path: Path) -> None:
    dm = site.dm
    labelled = site.pool[:ANNOTATED]
    corrections = site.pool[ANNOTATED:]
    with site.client("annotator") as c:
        r = c.post("/v1/predict", json={"texts": [t for t, _ in labelled] + [XSS_TEXT, NONSENSE]})
        assert r.status_code == 200, r.text

    page = _page(browser, site)
    _login(page, site, "annotator")
    page.goto(f"{site.url}/ui/annotate")
    page.wait_for_selector("#item:not([hidden])", timeout=20_000)
    assert "Enter" in page.text_content("#shortcuts") and "discard" in page.text_content("#shortcuts")
    assert [b.get_attribute("data-label") for b in page.query_selector_all("#labels button")] == sorted(REQUESTS)
    page.screenshot(path=str(tmp_path / "annotate.png"), full_page=True)

    # Enter without a label does nothing but say so; 's' skips (the item comes back later)
    first = page.get_attribute("#item", "data-record-id")
    page.keyboard.press("Enter")
    assert "Pick a label" in page.text_content("#message")
    page.keyboard.press("s")
    _wait_next(page, first)

    done: dict[str, tuple[str, str]] = {}
    for _ in range(ANNOTATED + 2 - 1):
        page.wait_for_selector("#item:not([hidden])", timeout=20_000)
        _label_shown_item(page, site, done)
    page.wait_for_selector("#empty:not([hidden])", timeout=20_000)
    page.click("#reload-queue")  # the skipped item is back
    page.wait_for_function("rid => document.querySelector('#item').dataset.recordId === rid && "
                           "!document.querySelector('#item').hidden", arg=first, timeout=20_000)
    _label_shown_item(page, site, done)
    page.wait_for_selector("#empty:not([hidden])", timeout=20_000)
    assert page.text_content("#done-count") == str(ANNOTATED + 2)
    assert page.evaluate("window.__xss") is None  # the markup in a text was shown, never run
    assert not page.errors, page.errors

    assert len(done) == ANNOTATED + 2
    for record_id, (status, intent) in done.items():
        record = dm.feedback.record(int(record_id))
        assert record["status"] == status, record
        if status == "ready":
            assert record["final_label"] == intent
            assert [(r["user"], r["label"], r["status"]) for r in record["responses"]] == [
                ('<b id="injected">ann</b>', intent, "submitted")]
    assert sorted(s for s, _ in done.values()) == ["discarded"] + ["ready"] * (ANNOTATED + 1)

    # clients send corrections of texts they saw predicted
    with site.client("client") as c:
        statuses = [c.post("/v1/feedback", json={"text": t, "label": i}).json()["status"] for t, i in corrections]
    assert statuses.count("ready") >= len(corrections) - 3, statuses
    page.context.close()

    # the admin retrains from the flywheel page and sees the new champion with its figures
    page = _page(browser, site)
    _login(page, site, "admin")
    page.goto(f"{site.url}/ui/flywheel")
    assert page.text_content("#served-ref") == f"{MODEL}@1"
    page.click("#retrain-now")
    page.wait_for_selector("#retrain-result:not([hidden])", timeout=150_000)
    result = page.text_content("#retrain-result")
    assert "promoted" in result and f"{MODEL}@2 is the new champion" in result, result
    page.wait_for_function(f"document.querySelector('#served-ref').textContent === '{MODEL}@2'", timeout=20_000)
    assert "%" in page.text_content("#served-accuracy")
    assert dm.holder.current().record.ref == f"{MODEL}@2"
    from datamoat.flywheel.retrain import list_decisions

    decision = list_decisions(dm.ws.catalog, MODEL)[0]
    assert decision.promoted and decision.feedback_rows >= ANNOTATED
    challenger, champion = decision.figures["challenger"], decision.figures["champion"]
    assert challenger["accuracy"] > champion["accuracy"] + 0.2
    assert re.search(rf"challenger {MODEL}@2: \d+\.\d% \[\d+\.\d%, \d+\.\d%\]", result), result
    assert re.search(r"McNemar p: \S+", result) and "feedback rows" in result
    page.screenshot(path=str(tmp_path / "retrain-result.png"), full_page=True)

    page.reload()
    row = page.text_content("#decisions tr.decision")
    assert "promoted" in row and f"{MODEL}@2" in row and f"{100 * challenger['accuracy']:.1f}%" in row
    assert page.query_selector('#decisions a[href^="/ui/reports/retrain-"]') is not None
    assert page.text_content("#served-ref") == f"{MODEL}@2"
    page.screenshot(path=str(tmp_path / "flywheel.png"), full_page=True)

    page.goto(f"{site.url}/ui/models")
    page.wait_for_selector("#models-chart .main-svg", timeout=30_000)
    assert "champion" in page.text_content("#models-table tbody tr")  # newest first: v2 is champion
    page.goto(f"{site.url}/ui/")
    assert f"{MODEL}@2" in page.text_content("#served-model")
    assert "promoted" in page.text_content("#decision-summary")
    page.screenshot(path=str(tmp_path / "overview.png"), full_page=True)
    assert not page.errors, page.errors
    page.context.close()


def test_monitor_page_refreshes_a_report(site: Site, browser: Any, tmp_path: Path) -> None:
    page = _page(browser, site)
    _login(page, site, "annotator")
    page.goto(f"{site.url}/ui/monitor")
    with page.expect_navigation(timeout=120_000):
        page.click("#refresh-monitor")
    page.wait_for_selector("#checks table", timeout=20_000)
    badge = page.text_content("#monitor-status .badge")
    assert badge in ("ok", "alert", "insufficient data")
    checks = page.text_content("#checks")
    for name in ("input text drift", "predicted-label drift", "confidence drop", "live accuracy"):
        assert name in checks
    if page.query_selector("#chart-predictions"):
        page.wait_for_selector("#chart-predictions .main-svg", timeout=30_000)
    page.screenshot(path=str(tmp_path / "monitor.png"), full_page=True)
    assert site.dm.feedback.counts(MODEL)["total"] >= 1
    assert not page.errors, page.errors
    page.context.close()


MANY = {
    "card_lost": "I lost my bank card somewhere", "card_blocked": "my card was declined and blocked",
    "pin_change": "I need a new pin number", "address_change": "I moved and my home address is new",
    "invoice": "send me the invoice as a pdf", "cancel_order": "cancel the order I placed yesterday",
    "exchange_rate": "which exchange rate do you use for euros", "top_up": "top up my wallet with cash",
    "transfer_failed": "my bank transfer failed twice", "refund": "I want my money back",
    "delivery": "my parcel never arrived", '<i>odd</i> & "label"': "this one has a strange label name",
}
"""Twelve intents (more than the nine digit keys), one of them with a markup-like name."""


def test_annotate_many_labels_ranks_filters_and_shows_agreement(
        browser: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    root = tmp_path_factory.mktemp("webui-many")
    train = [(f"{g} {phrase}", intent) for intent, phrase in MANY.items() for g in GREETINGS[:2]]
    test = [(f"{GREETINGS[3]} {phrase}", intent) for intent, phrase in MANY.items()]
    keys = _workspace(root, train, test)
    with _serving(root / "ws", annotators_per_item=2) as (url, app):
        site = Site(url=url, app=app, keys=keys, pool=[])
        store = app.state.dm.feedback
        with site.client("annotator") as c:
            texts = ["please help: my parcel never arrived and the card was declined", "hello there, what rate for euros"]
            assert c.post("/v1/predict", json={"texts": texts}).status_code == 200
            queue = c.get("/v1/queue").json()["items"]
            ranking = c.get("/ui/annotate/ranking", params={"ids": ",".join(str(i["record_id"]) for i in queue)})
            ranking = ranking.json()["rankings"]
        page = _page(browser, site)
        _login(page, site, "annotator")
        page.goto(f"{url}/ui/annotate")
        page.wait_for_selector("#item:not([hidden])", timeout=20_000)
        assert page.is_hidden("#agreement")  # nobody has labelled an item twice yet

        # the nine likeliest labels, best first (the model's suggestion leads), each with its digit
        first = page.get_attribute("#item", "data-record-id")
        shown = [b.get_attribute("data-label") for b in page.query_selector_all("#labels button")]
        assert shown == [r["label"] for r in ranking[first]][:9]
        assert shown[0] == next(i for i in queue if str(i["record_id"]) == first)["suggestion_label"]
        assert [k.text_content() for k in page.query_selector_all("#labels button kbd")] == [str(i) for i in range(1, 10)]
        # the markup-like label name travels as data and is shown as text, never as markup
        assert json.loads(page.get_attribute("#annotator", "data-classes")) == sorted(MANY)
        assert page.query_selector("main i") is None
        page.screenshot(path=str(tmp_path_factory.getbasetemp() / "annotate-many.png"), full_page=True)
        # '/' focuses the filter; Enter there picks the first match, Enter again submits
        hidden_label = next(label for label in MANY if label not in shown)
        page.keyboard.press("/")
        assert page.evaluate("document.activeElement.id") == "label-filter"
        page.keyboard.type(hidden_label[:6])
        filtered = [b.get_attribute("data-label") for b in page.query_selector_all("#labels button")]
        assert filtered[0] == hidden_label and all(hidden_label[:6].lower() in f.lower() for f in filtered)
        page.keyboard.press("Enter")
        page.keyboard.press("Enter")
        _wait_next(page, first)

        # digits pick among the ranked labels of the next item
        page.wait_for_selector("#item:not([hidden])", timeout=20_000)
        second = page.get_attribute("#item", "data-record-id")
        shown = [b.get_attribute("data-label") for b in page.query_selector_all("#labels button")]
        page.keyboard.press("2")
        page.keyboard.press("Enter")
        _wait_next(page, second)
        page.wait_for_selector("#empty:not([hidden])", timeout=20_000)
        # two annotators per item: one answer each resolves nothing yet
        assert [store.record(int(r))["status"] for r in (first, second)] == ["pending", "pending"]
        assert [store.record(int(r))["responses"][0]["label"] for r in (first, second)] == [hidden_label, shown[1]]

        # a second annotator agrees on the first item and disagrees on the second
        other = next(label for label in MANY if label != shown[1])
        with site.client("annotator2") as c:
            assert c.post("/v1/annotations", json={"record_id": int(first), "label": hidden_label}).status_code == 200
            assert c.post("/v1/annotations", json={"record_id": int(second), "label": other}).status_code == 200
        assert (store.record(int(first))["status"], store.record(int(first))["final_label"]) == ("ready", hidden_label)
        assert store.record(int(second))["status"] == "review"

        # the agreement panel: Fleiss' kappa overall, Cohen's kappa per annotator and pair
        page.reload()
        page.wait_for_selector("#agreement:not([hidden])", timeout=20_000)
        expected = store.agreement(MODEL)
        assert page.text_content("#fleiss") == f"{expected['overall_fleiss_kappa']:.3f}"
        pairs = page.text_content("#agreement-pairs tbody")
        assert "bob" in pairs and '<b id="injected">ann</b>' in pairs
        assert page.query_selector("#injected") is None
        page.screenshot(path=str(tmp_path_factory.getbasetemp() / "annotate-agreement.png"), full_page=True)
        assert not page.errors, page.errors
        page.context.close()
