#!/usr/bin/python3
"""Evidence files in `mnr-client ui`, in a real browser (Debian's chromium + chromedriver through
python3-selenium), against a real mnr-server on loopback and real client stores, checked through the CLI.

usage: attachments_test.py BUILD_DIR SOURCE_DIR

A field office attaches a real PDF to one indicator with the file input and to another by dropping it
(a drop event carrying a DataTransfer built in the page from the same bytes, since Selenium cannot drag
an operating system's file), opens it (the bytes, their type and the sandbox the app serves them in),
is refused for a PNG named report.pdf, a file over the limit and no file at all, each with the message
shown and nothing written, syncs, and removes one after confirming. A second device of the office sees
the file on the server only and fetches it. An auditor's store refuses to attach. The French page shows
the French labels. Uses the helpers of ui_test.py (the same servers, stores and browser).
"""
import base64
import hashlib
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ui_test as U  # noqa: E402  (its BUILD and SOURCE are this script's arguments too)

SHOTS = U.SHOTS
LIMIT = 20 << 20  # a store's limit before the server says another
BIG = LIMIT + (300 << 10)  # 20.3 MiB
HOSTILE_TEXT = "Minutes of the 2021 meeting\n<script>document.title = 'pwned'; fetch('/api/state')</script>\n"


def small_pdf(text):
    """A real one-page PDF showing `text`, with a correct cross-reference table."""
    stream = b"BT /F1 18 Tf 20 70 Td (" + text.encode() + b") Tj ET"
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 144] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    return out + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)


def small_png():
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def attachments_of(db):
    """`mnr-client attachments list`: {title: (hash prefix, file state)}."""
    out = {}
    for line in U.run([U.CLIENT, "attachments", "list", "--db", db]).stdout.splitlines():
        # hash  country  target  size  state  title: the title is after the last two-space gap
        title = line.rsplit("  ", 1)[1].strip()
        out[title] = (line.split()[0], line)
    return out


def raw_post(port, head, body=b""):
    """Sends a request's head and the start of its body as they are, and reads the answer the server
    gives without waiting for the rest: its status and body."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head.encode() + body)
        f = s.makefile("rb")
        status = int(f.readline().split()[1])
        length = 0
        while (line := f.readline().strip()):
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        return status, f.read(length)


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()


def main():
    from selenium import webdriver
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_bin = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    assert chromium and os.path.exists(driver_bin), "chromium and chromium-driver must be installed: this test needs a real browser"
    os.makedirs(SHOTS, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="mnr-ui-att-")
    server = None
    uis = []
    browser = None
    pdf = small_pdf("National strategy 2021")
    pdf_sha = hashlib.sha256(pdf).hexdigest()
    png = small_png()
    try:
        data = os.path.join(tmp, "server")
        port = U.free_port()
        address = f"127.0.0.1:{port}"
        U.run([U.SERVER, "init", "--data", data, "--address", address])
        with open(os.path.join(tmp, "countries.csv"), "w") as f:
            f.write("code,name,income_group,region\nQ01,Placeholder Q01,high,europe_central_asia\n")
        U.run([U.SERVER, "countries", "import", "--data", data, os.path.join(tmp, "countries.csv")])
        def start_server():
            proc = subprocess.Popen([U.SERVER, "run", "--data", data, "--listen", address], stdout=subprocess.DEVNULL,
                                    stderr=open(os.path.join(tmp, "server.log"), "a"), env=U.ENV)
            U.wait_port(port)
            return proc

        server = start_server()

        def store(name, role, countries=()):
            cred = os.path.join(tmp, name + ".mnrcred")
            args = [U.SERVER, "issue", "--data", data, "--role", role, "--name", name, "--out", cred]
            for c in countries:
                args += ["--country", c]
            U.run(args)
            db = os.path.join(tmp, name + ".db")
            U.run([U.CLIENT, "init", "--db", db, "--credentials", cred])
            return db

        field = store("Q01 bureau", "field", ["Q01"])
        laptop = store("Q01 laptop", "field", ["Q01"])
        auditor = store("Audrey auditor", "auditor")
        practice = U.run([U.CLIENT, "practice", "add", "--db", field, "--country", "Q01", "--capability", "11", "--kind", "good_practice",
                          "--title", "Helpline by SMS", "--text", "Trained counsellors answer by SMS."]).stdout.strip()
        pdf_path = os.path.join(tmp, "strategy.pdf")
        with open(pdf_path, "wb") as f:
            f.write(pdf)
        liar_path = os.path.join(tmp, "report.pdf")
        with open(liar_path, "wb") as f:
            f.write(png)

        ui = U.Ui(field)
        uis.append(ui)
        token = {"X-MNR-Token": ui.token, "Content-Type": "application/octet-stream"}
        where = "/api/attach?country=Q01&target=indicator&id=c01_national_strategy&name=strategy.pdf&title="

        # --- the API's refusals, before the browser: each writes nothing
        st, _ = ui.request("POST", where, {"Cookie": "mnr_ui=" + ui.token, "Content-Type": "application/octet-stream"}, pdf)
        assert st == 403, f"an upload carrying only the cookie (a cross-site form): {st}"
        # A body over the limit is refused from its Content-Length, before a byte of it is read.
        st, body = raw_post(ui.port, f"POST {where} HTTP/1.1\r\nHost: 127.0.0.1:{ui.port}\r\nX-MNR-Token: {ui.token}\r\n"
                                     f"Content-Type: application/octet-stream\r\nContent-Length: {BIG}\r\n\r\n", pdf)
        assert st == 413 and json.loads(body)["error"] == "the file is 20.3 MiB; the server takes attachments of at most 20.0 MiB", (st, body)
        st, body = raw_post(ui.port, f"POST /api/answer HTTP/1.1\r\nHost: 127.0.0.1:{ui.port}\r\nX-MNR-Token: {ui.token}\r\n"
                                     f"Content-Type: application/json\r\nContent-Length: {1 << 20}\r\n\r\n", b"{")
        assert st == 413, f"a 1 MiB JSON body: {st}"
        st, body = ui.request("POST", where, {"X-MNR-Token": ui.token, "Content-Type": "application/x-www-form-urlencoded"}, pdf)
        assert st == 400 and "application/octet-stream" in json.loads(body)["error"], (st, body)
        aui = U.Ui(auditor)
        uis.append(aui)
        st, body = aui.request("POST", where, {"X-MNR-Token": aui.token, "Content-Type": "application/octet-stream"}, pdf)
        assert st == 409 and "auditor's: it may read but not edit" in json.loads(body)["error"], (st, body)
        assert attachments_of(field) == {} and attachments_of(auditor) == {}, "a refused upload wrote to a store"

        # --- the browser
        opts = webdriver.ChromeOptions()
        opts.binary_location = chromium
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                  "--user-data-dir=" + os.path.join(tmp, "chromium-profile"), "--lang=en-GB"):
            opts.add_argument(a)
        browser = webdriver.Chrome(service=Service(driver_bin), options=opts)
        browser.set_window_size(1280, 900)
        browser.set_script_timeout(20)
        wait = WebDriverWait(browser, 20, poll_frequency=0.1, ignored_exceptions=(NoSuchElementException, StaleElementReferenceException))

        def open_ui(u):
            browser.get(u.url)
            wait.until(lambda b: b.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1")

        def set_lang(lang):
            Select(browser.find_element(By.ID, "lang-select")).select_by_value(lang)
            wait.until(lambda b: b.find_element(By.TAG_NAME, "html").get_attribute("lang") == lang)

        def indicator(ind):
            fs = browser.find_element(By.CSS_SELECTOR, f'fieldset[data-indicator="{ind}"]')
            browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", fs)
            return fs

        def items(ind):
            return browser.find_elements(By.CSS_SELECTOR, f'fieldset[data-indicator="{ind}"] li[data-attachment]')

        def item(ind, title):
            found = [li for li in items(ind) if li.find_element(By.CLASS_NAME, "att-title").text == title]
            return found[0] if found else None

        def drop(ind, name, b64=None, size=0):
            """Drops a file on the indicator's legend as a browser would: dragover, then drop, bubbling."""
            browser.execute_script("""
              const [fs, name, b64, size] = arguments;
              const bytes = b64 ? Uint8Array.from(atob(b64), c => c.charCodeAt(0)) : new Uint8Array(size);
              const dt = new DataTransfer();
              dt.items.add(new File([bytes], name));
              const at = fs.querySelector('legend');
              const over = new DragEvent('dragover', {dataTransfer: dt, bubbles: true, cancelable: true});
              at.dispatchEvent(over);
              fs.setAttribute('data-dragover-taken', String(over.defaultPrevented && fs.classList.contains('dropping')));
              at.dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));""",
                                   indicator(ind), name, b64, size)

        def text(el):
            return " ".join(el.text.split())

        def message(ind):
            return browser.find_element(By.CSS_SELECTOR, f'fieldset[data-indicator="{ind}"] .att-msg').text

        def fetch(href):
            """The page fetches `href` as the browser would open it; the bytes' SHA-256 and the headers."""
            return browser.execute_async_script("""
              const [href, done] = arguments;
              fetch(href, {credentials: 'same-origin'}).then(async r => {
                const digest = await crypto.subtle.digest('SHA-256', await r.arrayBuffer());
                const hex = [...new Uint8Array(digest)].map(b => b.toString(16).padStart(2, '0')).join('');
                const hd = k => r.headers.get(k);
                done({status: r.status, sha: hex, type: hd('content-type'), disposition: hd('content-disposition'),
                      csp: hd('content-security-policy'), nosniff: hd('x-content-type-options')});
              }).catch(e => done({error: String(e)}));""", href)

        open_ui(ui)
        set_lang("en")

        # The keyboard way: the file input; the title defaults to the file's name, and is changed.
        fs = indicator("c01_national_strategy")
        fs.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(pdf_path)
        title = fs.find_element(By.CSS_SELECTOR, "input[id^=att-title]")
        assert title.get_attribute("value") == "strategy.pdf", title.get_attribute("value")
        title.clear()
        title.send_keys("National strategy 2021 (decree)")
        fs.find_element(By.CSS_SELECTOR, "button[data-action=attach]").click()
        wait.until(lambda b: item("c01_national_strategy", "National strategy 2021 (decree)"))
        li = item("c01_national_strategy", "National strategy 2021 (decree)")
        assert li.get_attribute("data-where") == "waiting" and f"PDF · {len(pdf)} B · waiting to be sent" in text(li), text(li)
        listed = attachments_of(field)
        assert list(listed) == ["National strategy 2021 (decree)"] and pdf_sha.startswith(listed["National strategy 2021 (decree)"][0]), listed

        # The drop: the same bytes, on another indicator; the title is the file's name.
        drop("c11_child_helpline", "loi-2019.pdf", base64.b64encode(pdf).decode())
        fs = indicator("c11_child_helpline")
        assert fs.get_attribute("data-dragover-taken") == "true", "the indicator does not take a dragged file"
        assert fs.find_element(By.CSS_SELECTOR, "input[id^=att-title]").get_attribute("value") == "loi-2019.pdf"
        assert "loi-2019.pdf" in message("c11_child_helpline"), message("c11_child_helpline")
        fs.find_element(By.CSS_SELECTOR, "button[data-action=attach]").click()
        wait.until(lambda b: item("c11_child_helpline", "loi-2019.pdf"))
        assert set(attachments_of(field)) == {"National strategy 2021 (decree)", "loi-2019.pdf"}, attachments_of(field)

        # Refusals, each shown in the page with nothing written: a PNG that says it is a PDF (the
        # store's own message, as `mnr-client attach` prints it), a file over the limit, no file.
        drop("c11_child_helpline", "report.pdf", base64.b64encode(png).decode())
        fs.find_element(By.CSS_SELECTOR, "button[data-action=attach]").click()
        wait.until(lambda b: "Error" in message("c11_child_helpline"))
        shown = message("c11_child_helpline")
        cli = U.run([U.CLIENT, "attach", "--db", field, "--country", "Q01", "--indicator", "c11_child_helpline", liar_path], ok=False)
        # The command line names the file by its path; the page, by its name.
        said = cli.stderr.strip().rsplit(liar_path + ": ", 1)[1]
        assert cli.returncode != 0 and shown == "Error: report.pdf: " + said, (shown, cli.stderr)
        drop("c11_child_helpline", "annual-report.pdf", size=BIG)
        fs.find_element(By.CSS_SELECTOR, "button[data-action=attach]").click()
        assert message("c11_child_helpline") == "Error: annual-report.pdf is 20.3 MiB; attachments are at most 20.0 MiB.", message("c11_child_helpline")
        fs = indicator("c12_reporting_hotline")
        fs.find_element(By.CSS_SELECTOR, "button[data-action=attach]").click()
        assert message("c12_reporting_hotline") == "Error: Choose a file, or drop one on this indicator, first.", message("c12_reporting_hotline")
        assert set(attachments_of(field)) == {"National strategy 2021 (decree)", "loi-2019.pdf"}, attachments_of(field)
        assert len(items("c11_child_helpline")) == 1 and not items("c12_reporting_hotline")

        # Opening: the link's bytes are the file's, typed by its bytes, in a sandbox of no origin.
        link = item("c01_national_strategy", "National strategy 2021 (decree)").find_element(By.CSS_SELECTOR, "a[data-action=open-attachment]")
        assert link.get_attribute("target") == "_blank" and "noopener" in link.get_attribute("rel")
        got = fetch(link.get_attribute("href"))
        assert got == {"status": 200, "sha": pdf_sha, "type": "application/pdf",
                       "disposition": "inline; filename=\"strategy.pdf\"; filename*=UTF-8''strategy.pdf",
                       "csp": "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'", "nosniff": "nosniff"}, got
        def open_in_tab(link):
            """Opens the link as a person would (a new tab) and returns what the tab's document is."""
            link.click()
            wait.until(lambda b: len(b.window_handles) == 2)
            browser.switch_to.window(browser.window_handles[1])
            wait.until(lambda b: b.execute_script("return document.readyState") == "complete")
            seen = browser.execute_script("return {type: document.contentType, origin: self.origin, title: document.title, "
                                          "text: document.body ? document.body.innerText : ''}")
            browser.close()
            browser.switch_to.window(browser.window_handles[0])
            return seen

        assert open_in_tab(link)["type"] == "application/pdf"
        # A hostile document: text carrying a script. It is shown as text, in a sandbox of no origin.
        notes = os.path.join(tmp, "minutes.txt")
        with open(notes, "w") as f:
            f.write(HOSTILE_TEXT)
        fs = indicator("c21_universal_terminology")
        fs.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(notes)
        fs.find_element(By.CSS_SELECTOR, "button[data-action=attach]").click()
        wait.until(lambda b: item("c21_universal_terminology", "minutes.txt"))
        li = item("c21_universal_terminology", "minutes.txt")
        assert f"plain text · {len(HOSTILE_TEXT)} B" in text(li), text(li)
        seen = open_in_tab(li.find_element(By.CSS_SELECTOR, "a[data-action=open-attachment]"))
        assert seen == {"type": "text/plain", "origin": "null", "title": "", "text": HOSTILE_TEXT}, seen

        # A practice entry takes evidence files too.
        browser.execute_script("location.hash = '#practices'")
        card = wait.until(lambda b: b.find_element(By.CSS_SELECTOR, f'[data-practice="{practice}"]'))
        card.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(pdf_path)
        card.find_element(By.CSS_SELECTOR, "input[id^=att-title]").clear()
        card.find_element(By.CSS_SELECTOR, "input[id^=att-title]").send_keys("SMS helpline report")
        card.find_element(By.CSS_SELECTOR, "button[data-action=attach]").click()
        wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, f'[data-practice="{practice}"] li[data-attachment]'))
        row = attachments_of(field)["SMS helpline report"][1]
        assert f"practice {practice[:8]}" in row and pdf_sha.startswith(row.split()[0]), row
        browser.execute_script("location.hash = '#questionnaire'")
        wait.until(lambda b: item("c01_national_strategy", "National strategy 2021 (decree)"))

        # Sync from the page: the files reach the server.
        browser.execute_script("location.hash = '#sync'")
        wait.until(lambda b: b.find_element(By.ID, "main").get_attribute("data-page") == "sync")
        browser.find_element(By.ID, "sync-now").click()
        wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#sync-result [data-sync-exit]"))
        res = browser.find_element(By.CSS_SELECTOR, "#sync-result [data-sync-exit]")
        assert res.get_attribute("data-sync-exit") == "0", res.text
        browser.execute_script("location.hash = '#questionnaire'")
        wait.until(lambda b: item("c11_child_helpline", "loi-2019.pdf"))
        li = item("c11_child_helpline", "loi-2019.pdf")
        assert li.get_attribute("data-where") == "both" and text(li).startswith(f"loi-2019.pdf PDF · {len(pdf)} B · here and on the server"), text(li)
        assert "here and on the server" in attachments_of(field)["loi-2019.pdf"][1]

        # The French page.
        set_lang("fr")
        fs = indicator("c11_child_helpline")
        assert fs.find_element(By.TAG_NAME, "h4").text == "Pièces justificatives"
        assert f"PDF · {len(pdf)} o · ici et sur le serveur" in text(item("c11_child_helpline", "loi-2019.pdf"))
        assert fs.find_element(By.CSS_SELECTOR, "button[data-action=attach]").text == "Joindre"
        assert "au plus 20,0 Mio" in fs.find_element(By.CSS_SELECTOR, ".dropzone p").text
        assert [lb.text for lb in fs.find_elements(By.CSS_SELECTOR, ".dropzone label")] == ["Fichier", "Titre du fichier"]
        assert fs.find_element(By.CSS_SELECTOR, "[data-action=remove-attachment]").text == "Supprimer"
        for w in (1280, 390):
            browser.set_window_size(w, 900)
            time.sleep(0.15)
            width = browser.execute_script("return document.documentElement.scrollWidth")
            assert width <= w, f"the questionnaire with attachments scrolls sideways at {w} px ({width} px)"
            browser.execute_script("arguments[0].scrollIntoView()", indicator("c11_child_helpline"))
            browser.save_screenshot(os.path.join(SHOTS, f"field-attachments-fr-{w}.png"))
        browser.set_window_size(1280, 900)
        set_lang("en")

        # Removing asks first: dismissed, nothing changes; confirmed, the attachment goes.
        item("c11_child_helpline", "loi-2019.pdf").find_element(By.CSS_SELECTOR, "[data-action=remove-attachment]").click()
        alert = wait.until(lambda b: b.switch_to.alert)
        assert alert.text == "Remove the file “loi-2019.pdf”? The removal is synced like any edit.", alert.text
        alert.dismiss()
        assert "loi-2019.pdf" in attachments_of(field) and item("c11_child_helpline", "loi-2019.pdf")
        item("c11_child_helpline", "loi-2019.pdf").find_element(By.CSS_SELECTOR, "[data-action=remove-attachment]").click()
        wait.until(lambda b: b.switch_to.alert).accept()
        wait.until(lambda b: not items("c11_child_helpline"))
        assert sorted(attachments_of(field)) == ["National strategy 2021 (decree)", "SMS helpline report", "minutes.txt"], attachments_of(field)

        # Another device of the office: the file is on the server only, until it is fetched.
        U.run([U.CLIENT, "sync", "--db", field, "--retries", "0"])
        U.run([U.CLIENT, "sync", "--db", laptop, "--retries", "0"])
        lui = U.Ui(laptop)
        uis.append(lui)
        open_ui(lui)
        indicator("c01_national_strategy")
        li = item("c01_national_strategy", "National strategy 2021 (decree)")
        assert li.get_attribute("data-where") == "server_only" and "on the server only" in text(li), text(li)
        assert not items("c11_child_helpline"), "the removal did not reach the other device"
        # With the server down, fetching says why in the page, and the file stays on the server only.
        stop(server)
        started = time.time()
        li.find_element(By.CSS_SELECTOR, "button[data-action=fetch-attachment]").click()
        wait.until(lambda b: "Error" in text(item("c01_national_strategy", "National strategy 2021 (decree)")))
        said = text(item("c01_national_strategy", "National strategy 2021 (decree)"))
        assert 'Error: fetching "National strategy 2021 (decree)" from the server: ' in said and address in said, said
        assert time.time() - started < 10, f"a refused connection took {time.time() - started:.1f} s to report"
        assert "on the server only" in attachments_of(laptop)["National strategy 2021 (decree)"][1]
        server = start_server()
        li = item("c01_national_strategy", "National strategy 2021 (decree)")
        li.find_element(By.CSS_SELECTOR, "button[data-action=fetch-attachment]").click()
        wait.until(lambda b: item("c01_national_strategy", "National strategy 2021 (decree)").find_elements(
            By.CSS_SELECTOR, "a[data-action=open-attachment]"))
        link = item("c01_national_strategy", "National strategy 2021 (decree)").find_element(By.CSS_SELECTOR, "a[data-action=open-attachment]")
        assert browser.switch_to.active_element == link, "the fetched file's link does not take the focus"
        got = fetch(link.get_attribute("href"))
        assert got["status"] == 200 and got["sha"] == pdf_sha and got["type"] == "application/pdf", got
        print("ok: attached, refused, opened, synced, fetched and removed evidence files in mnr-client ui")
    finally:
        if browser:
            browser.quit()
        for u in uis:
            u.stop()
        if server:
            stop(server)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
