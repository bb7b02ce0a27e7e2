#!/usr/bin/python3
"""`mnr-client ui` in a real browser (Debian's chromium + chromedriver through python3-selenium),
against a real mnr-server on loopback and real client stores, checked through the CLI.

usage: ui_test.py BUILD_DIR SOURCE_DIR

A field officer answers five indicators in French with notes, adds a practice and syncs; a coordinator
sees the country submitted, resolves a conflict by picking a candidate and returns the survey with a
query; the officer sees the query, replies and submits again. The refusals (no token, wrong Host,
cross-origin write) each answer 403 and write nothing. Screenshots of every page at 1280 and 390 px, in
English and French, go to SOURCE_DIR/test-artifacts/ui/. A missing browser is a failure, not a skip.
"""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

BUILD, SOURCE = sys.argv[1], sys.argv[2]
CLIENT = os.path.join(BUILD, "client", "mnr-client")
SERVER = os.path.join(BUILD, "server", "mnr-server")
SHOTS = os.path.join(SOURCE, "test-artifacts", "ui")
FIVE = {  # indicator -> (answer, French note)
    "c01_national_strategy": ("yes", "Stratégie nationale adoptée en 2021 ; décret n° 12."),
    "c04_dedicated_law_enforcement": ("partial", "Unité spécialisée à la capitale seulement."),
    "c11_child_helpline": ("yes", "Ligne 116 111 gratuite, ouverte 24 h/24."),
    "c12_reporting_hotline": ("no", "Pas de portail de signalement ; projet à l'étude."),
    "c21_universal_terminology": ("unknown", "À vérifier auprès du ministère de la Justice."),
}
CONFLICTED = "c11_child_helpline"


# The command line's own messages in English, whatever the machine's locale (they are matched below).
ENV = dict(os.environ, LANGUAGE="", LANG="C.UTF-8", LC_ALL="C.UTF-8")


def run(args, ok=True):
    r = subprocess.run(args, capture_output=True, text=True, timeout=60, env=ENV)
    if ok and r.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {r.returncode}: {r.stderr}{r.stdout}")
    return r


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, seconds=10):
    end = time.time() + seconds
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


class Ui:
    """One `mnr-client ui --no-browser` process; its address as it printed it."""

    def __init__(self, db):
        self.proc = subprocess.Popen([CLIENT, "ui", "--db", db, "--no-browser"], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, env=ENV)
        url = None
        end = time.time() + 10
        while time.time() < end and url is None:
            line = self.proc.stdout.readline()
            m = re.match(r"^(http://127\.0\.0\.1:(\d+)/\?token=([0-9a-f]{48}))$", line.strip())
            if m:
                url, self.port, self.token = m.group(1), int(m.group(2)), m.group(3)
        assert url, "mnr-client ui printed no address"
        self.url = url

    def request(self, method, path, headers=None, body=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        h = {"Host": f"127.0.0.1:{self.port}"}
        h.update(headers or {})
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def export(db):
    return json.loads(run([CLIENT, "export", "--db", db, "--format", "json"]).stdout)


def answers_of(db):
    out = {}
    for a in export(db).get("answers", []):
        out[a["indicator"]] = (a["answer"], a.get("note", ""))
    return out


def main():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait, Select

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_bin = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    assert chromium and os.path.exists(driver_bin), "chromium and chromium-driver must be installed: this test needs a real browser"
    os.makedirs(SHOTS, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="mnr-ui-")
    server = None
    uis = []
    browser = None
    try:
        # --- a real server with three countries, and four stores bound to credentials it issued
        data = os.path.join(tmp, "server")
        port = free_port()
        address = f"127.0.0.1:{port}"
        run([SERVER, "init", "--data", data, "--address", address])
        with open(os.path.join(tmp, "countries.csv"), "w") as f:
            f.write("code,name,income_group,region\nQ01,Placeholder Q01,high,europe_central_asia\n"
                    "Q02,Placeholder Q02,upper_middle,americas\nQ03,Placeholder Q03,low,africa\n")
        run([SERVER, "countries", "import", "--data", data, os.path.join(tmp, "countries.csv")])
        server = subprocess.Popen([SERVER, "run", "--data", data, "--listen", address],
                                  stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "server.log"), "w"), env=ENV)
        wait_port(port)

        def store(name, role, countries=()):
            cred = os.path.join(tmp, name + ".mnrcred")
            args = [SERVER, "issue", "--data", data, "--role", role, "--name", name, "--out", cred]
            for c in countries:
                args += ["--country", c]
            run(args)
            db = os.path.join(tmp, name + ".db")
            run([CLIENT, "init", "--db", db, "--credentials", cred])
            return db

        field = store("Q01 bureau", "field", ["Q01"])
        laptop = store("Q01 laptop", "field", ["Q01"])
        coord = store("Ada coordinator", "coordinator")
        auditor = store("Audrey auditor", "auditor")

        # Another device of the same office answers the helpline first: the page's answer will conflict.
        run([CLIENT, "answer", "--db", laptop, "Q01", CONFLICTED, "yes", "--note", "from the laptop"])
        run([CLIENT, "sync", "--db", laptop, "--retries", "0"])

        ui = Ui(field)
        uis.append(ui)

        # --- refusals: each 403, and nothing written
        before = export(field)
        good_post = json.dumps({"country": "Q01", "indicator": "c00_mnr_reference", "answer": "yes", "note": "x"})
        st, _ = ui.request("GET", "/")
        assert st == 403, f"no token: {st}"
        st, _ = ui.request("GET", "/api/state")
        assert st == 403, f"API without token: {st}"
        st, _ = ui.request("GET", "/api/state", {"X-MNR-Token": "0" * 48})
        assert st == 403, f"wrong token: {st}"
        st, _ = ui.request("GET", "/?token=" + ui.token, {"Host": f"evil.example:{ui.port}"})
        assert st == 403, f"wrong Host (DNS rebinding): {st}"
        st, _ = ui.request("POST", "/api/answer", {"X-MNR-Token": ui.token, "Host": f"evil.example:{ui.port}",
                                                   "Content-Type": "application/json"}, good_post)
        assert st == 403, f"write with wrong Host: {st}"
        st, _ = ui.request("POST", "/api/answer", {"X-MNR-Token": ui.token, "Origin": "http://evil.example",
                                                   "Content-Type": "application/json"}, good_post)
        assert st == 403, f"cross-origin POST: {st}"
        st, _ = ui.request("POST", "/api/answer", {"X-MNR-Token": ui.token, "Origin": f"http://127.0.0.1:{ui.port}",
                                                   "Sec-Fetch-Site": "cross-site", "Content-Type": "application/json"}, good_post)
        assert st == 403, f"cross-site POST: {st}"
        st, _ = ui.request("POST", "/api/answer", {"Cookie": "mnr_ui=" + ui.token, "Content-Type": "application/json"}, good_post)
        assert st == 403, f"POST carrying only the cookie (a cross-site form): {st}"
        assert export(field) == before, "a refused request wrote to the store"
        st, body = ui.request("GET", "/api/state", {"X-MNR-Token": ui.token})
        assert st == 200 and json.loads(body)["role"] == "field", f"the token opens the API: {st}"

        # --- the browser
        opts = webdriver.ChromeOptions()
        opts.binary_location = chromium
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                  "--user-data-dir=" + os.path.join(tmp, "chromium-profile"), "--lang=en-GB"):
            opts.add_argument(a)
        browser = webdriver.Chrome(service=Service(driver_bin), options=opts)
        browser.set_window_size(1280, 900)
        # The page re-renders after each write: an element read mid-render is looked up again.
        from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
        wait = WebDriverWait(browser, 20, ignored_exceptions=(NoSuchElementException, StaleElementReferenceException))

        def ready():
            wait.until(lambda b: b.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1")

        def goto(page):
            browser.execute_script("location.hash = arguments[0]", "#" + page)
            wait.until(lambda b: b.find_element(By.ID, "main").get_attribute("data-page") == page and
                       not b.find_elements(By.CSS_SELECTOR, "main #loading"))
            time.sleep(0.2)

        def set_lang(l):
            Select(browser.find_element(By.ID, "lang-select")).select_by_value(l)
            wait.until(lambda b: b.find_element(By.TAG_NAME, "html").get_attribute("lang") == l)
            time.sleep(0.2)

        def shoot(role, pages):
            for l in ("en", "fr"):
                set_lang(l)
                for p in pages:
                    goto(p)
                    for w in (1280, 390):
                        browser.set_window_size(w, 900)
                        time.sleep(0.15)
                        # Nothing wider than the window: the layout works down to a phone.
                        width = browser.execute_script("return document.documentElement.scrollWidth")
                        assert width <= w, f"{role} {p} {l} at {w} px scrolls sideways ({width} px)"
                        browser.save_screenshot(os.path.join(SHOTS, f"{role}-{p}-{l}-{w}.png"))
                    browser.set_window_size(1280, 900)
                    # Every control has a label.
                    unlabelled = browser.execute_script("""
                      return [...document.querySelectorAll('input, select, textarea')].filter(e =>
                        !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.closest('label')).map(e => e.id || e.name);""")
                    assert not unlabelled, f"{role} {p}: controls without a label: {unlabelled}"

        browser.get(ui.url)
        ready()
        assert "token" not in browser.current_url, "the token stays in the address bar"
        set_lang("fr")
        assert browser.find_element(By.CSS_SELECTOR, "#nav a[data-page=questionnaire]").text == "Questionnaire"
        assert "Avancement par domaine" in browser.find_element(By.ID, "main").text

        # The officer answers five indicators with French notes; each saves at once.
        for ind, (answer, note) in FIVE.items():
            fs = browser.find_element(By.CSS_SELECTOR, f'fieldset[data-indicator="{ind}"]')
            browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", fs)
            fs.find_element(By.CSS_SELECTOR, f'input[type=radio][value="{answer}"]').click()
            wait.until(lambda b: fs.get_attribute("data-saved") == "1")
            ta = fs.find_element(By.TAG_NAME, "textarea")
            ta.send_keys(note)
            ta.send_keys("\t")  # leaving the note saves it (keyboard only)
            wait.until(lambda b: fs.get_attribute("data-saved") == "2")
        got = answers_of(field)
        for ind, (answer, note) in FIVE.items():
            assert got.get(ind) == (answer, note), f"{ind}: the store holds {got.get(ind)}"
        status = run([CLIENT, "status", "--db", field]).stdout
        assert "5 of 27 answers recorded" in status, f"status does not count 5 answers: {status}"

        # A practice, added in the page.
        goto("practices")
        Select(browser.find_element(By.ID, "pa-cap")).select_by_value("11")
        Select(browser.find_element(By.ID, "pa-kind")).select_by_value("good_practice")
        Select(browser.find_element(By.ID, "pa-lang")).select_by_value("fr")
        browser.find_element(By.ID, "pa-title").send_keys("Ligne d'écoute mobile")
        browser.find_element(By.ID, "pa-text").send_keys("Des conseillers formés répondent par SMS dans les zones rurales.")
        browser.find_element(By.CSS_SELECTOR, "form[data-form=add] button[type=submit]").click()
        wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "[data-practice]"))
        practices = export(field).get("practices", [])
        assert [p["title"] for p in practices] == ["Ligne d'écoute mobile"] and practices[0]["lang"] == "fr", practices

        # Submit, then sync from the page.
        goto("questionnaire")
        browser.find_element(By.ID, "submit").click()
        wait.until(lambda b: b.find_element(By.CSS_SELECTOR, "[data-review-state]").get_attribute("data-review-state") == "submitted")

        def sync_in_page():
            goto("sync")
            browser.find_element(By.ID, "sync-now").click()
            wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#sync-result [data-sync-exit]"))
            return browser.find_element(By.CSS_SELECTOR, "#sync-result [data-sync-exit]")

        res = sync_in_page()
        assert res.get_attribute("data-sync-exit") == "0" and "Synchronisé" in res.text, res.text
        status = run([CLIENT, "status", "--db", field]).stdout
        assert re.search(r"unsynced:\s+0 edits", status) and re.search(r"outbox:\s+0 change-sets", status), status

        # --- the coordinator
        cui = Ui(coord)
        uis.append(cui)
        browser.get(cui.url)
        ready()
        set_lang("en")
        goto("overview")
        row = browser.find_element(By.CSS_SELECTOR, 'tr[data-country="Q01"]')
        assert row.find_element(By.CSS_SELECTOR, "[data-review-state]").get_attribute("data-review-state") == "submitted"
        overview = json.loads(run([CLIENT, "status", "--all", "--db", coord, "--format", "json"]).stdout)
        q01 = [c for c in overview["countries"] if c["country"] == "Q01"][0]
        assert q01["review"]["state"] == "submitted" and q01["answered"] >= 5 and q01["open_conflicts"] == 1, q01

        goto("conflicts")
        forms = browser.find_elements(By.CSS_SELECTOR, "form[data-conflict]")
        assert len(forms) == 1, f"{len(forms)} conflicts in the queue"
        cid = forms[0].get_attribute("data-conflict")
        cands = forms[0].find_elements(By.CSS_SELECTOR, "[data-candidate]")
        assert len(cands) >= 2, f"{len(cands)} candidates: {forms[0].text}"
        # Keep the office's French answer (the candidate with its note).
        pick = [c for c in cands if "116 111" in c.text][0]
        pick_n = pick.get_attribute("data-candidate")
        shoot("coordinator", ["overview", "conflicts", "review", "audit"])
        set_lang("en")
        goto("conflicts")
        form = browser.find_element(By.CSS_SELECTOR, f'form[data-conflict="{cid}"]')
        form.find_element(By.CSS_SELECTOR, f'[data-candidate="{pick_n}"] input[type=radio]').click()
        form.find_element(By.ID, f"rs-{cid}").send_keys("the office's answer, confirmed by phone")
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait.until(lambda b: not b.find_elements(By.CSS_SELECTOR, f'form[data-conflict="{cid}"]'))
        shown = run([CLIENT, "conflicts", "show", "--db", coord, cid]).stdout
        assert "(resolved)" in shown and "confirmed by phone" in shown, shown

        goto("review")
        Select(browser.find_element(By.ID, "rv-country")).select_by_value("Q01")
        browser.find_element(By.ID, "rv-comment").send_keys("Please give the decree's date for the strategy.")
        browser.find_element(By.CSS_SELECTOR, "#rv-ind-h").click()
        browser.find_element(By.ID, "rv-i-c01_national_strategy").click()
        # A second query with a text of its own; the first says the comment.
        browser.find_element(By.ID, "rv-i-c12_reporting_hotline").click()
        browser.find_element(By.ID, "rv-q-c12_reporting_hotline").send_keys("Which body runs the hotline?")
        browser.find_element(By.ID, "rv-return").click()
        wait.until(lambda b: "returned" in b.find_element(By.ID, "rv-country").text)
        shown = run([CLIENT, "review", "show", "--db", coord, "Q01"]).stdout
        assert "returned" in shown and "decree's date" in shown and "Which body runs the hotline?" in shown, shown
        status = json.loads(run([CLIENT, "review", "list", "--db", coord, "--format", "json"]).stdout)
        queries = {q["indicator"]: q["text"] for c in status["countries"] if c["country"] == "Q01" for q in c["queries"]}
        assert queries == {"c01_national_strategy": "Please give the decree's date for the strategy.",
                           "c12_reporting_hotline": "Which body runs the hotline?"}, queries

        # --- the officer sees the query, replies and submits again
        browser.get(ui.url)
        ready()
        set_lang("fr")
        res = sync_in_page()
        assert res.get_attribute("data-sync-exit") == "0", res.text
        goto("questionnaire")
        fs = browser.find_element(By.CSS_SELECTOR, 'fieldset[data-indicator="c01_national_strategy"]')
        box = fs.find_element(By.CSS_SELECTOR, "[data-query]")
        assert "decree's date" in box.text and "Question de la coordination" in box.text, box.text
        hotline = browser.find_element(By.CSS_SELECTOR, 'fieldset[data-indicator="c12_reporting_hotline"] [data-query]')
        assert "Which body runs the hotline?" in hotline.text and "decree's date" not in hotline.text, hotline.text
        assert browser.find_element(By.CSS_SELECTOR, "[data-review-state]").get_attribute("data-review-state") == "returned"
        box.find_element(By.TAG_NAME, "textarea").send_keys("Décret du 3 mars 2021.")
        box.find_element(By.CSS_SELECTOR, "button[data-action=reply]").click()
        wait.until(lambda b: "Décret du 3 mars 2021." in b.find_element(
            By.CSS_SELECTOR, 'fieldset[data-indicator="c01_national_strategy"] [data-query]').text)
        browser.find_element(By.ID, "submit").click()
        wait.until(lambda b: b.find_element(By.CSS_SELECTOR, "[data-review-state]").get_attribute("data-review-state") == "submitted")
        res = sync_in_page()
        assert res.get_attribute("data-sync-exit") == "0", res.text
        shown = run([CLIENT, "review", "show", "--db", coord, "Q01"]).stdout
        assert "submitted" in shown and "Décret du 3 mars 2021." in shown, shown
        # The resolved conflict reached the office: its answer is the one it kept.
        assert answers_of(field)[CONFLICTED] == FIVE[CONFLICTED], answers_of(field)[CONFLICTED]
        # The office's receipts, each checked by mnr-client against its own CA, as the CLI counts them.
        goto("sync")
        box = wait.until(lambda b: b.find_element(By.ID, "receipts"))
        count = int(box.get_attribute("data-receipts"))
        assert count >= 1 and box.get_attribute("data-receipts-verified") == str(count), box.text
        verified = run([CLIENT, "receipts", "--db", field, "--verify"]).stdout
        assert f"all {count} receipts verify" in verified, verified
        shoot("field", ["questionnaire", "practices", "sync", "release"])

        # --- the auditor
        aui = Ui(auditor)
        uis.append(aui)
        browser.get(aui.url)
        ready()
        goto("audit")
        rows = browser.find_elements(By.CSS_SELECTOR, "tr[data-index]")
        assert rows and any("116 111" in r.text for r in rows), "the audit log shows the helpline edits"
        # The auditor checks one entry's proof; mnr-client verifies it against the auditor's own CA.
        row = [r for r in rows if "116 111" in r.text][0]
        index = row.get_attribute("data-index")
        row.find_element(By.CSS_SELECTOR, "button[data-action=proof]").click()
        wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, f'tr[data-index="{index}"] [data-proof]'))
        cell = browser.find_element(By.CSS_SELECTOR, f'tr[data-index="{index}"] [data-proof]')
        assert cell.get_attribute("data-proof") == "ok", cell.text
        proof = json.loads(run([CLIENT, "audit", "proof", "--db", auditor, index, "--format", "json"]).stdout)
        assert proof["proved"] and str(proof["tree_size"]) in cell.text, (proof, cell.text)
        browser.execute_script("arguments[0].scrollIntoView()", cell)
        browser.save_screenshot(os.path.join(SHOTS, "auditor-proof-en-1280.png"))
        shoot("auditor", ["audit", "overview"])
        print(f"ok: {len(os.listdir(SHOTS))} screenshots in {SHOTS}")
    finally:
        if browser:
            browser.quit()
        for u in uis:
            u.stop()
        if server:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(5)
            except subprocess.TimeoutExpired:
                server.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
