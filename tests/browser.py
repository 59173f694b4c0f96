#!/usr/bin/env python3
"""browser.py — loads pages in headless Chromium over the DevTools protocol and reports
what a person would see: the HTTP status of the page and of every sub-resource, the
requests that failed, script exceptions and console errors (CSP violations among them),
and the elements that carry data-* attributes, read from the live DOM after the load
event. No websocket library: Chromium speaks the protocol over a pipe
(--remote-debugging-pipe: commands on fd 3, answers on fd 4, each NUL-terminated).

  browser.py OUT.json URL [URL ...] [--screenshot URL=FILE.png]
      (the console test) OUT.json: [{"url", "status", "bad": [{"url", "status"|"error"}],
      "errors": [...], "title", "items": [{tag, group, ...dataset}], "images": [{src, ok}],
      "scripts": N, "text", "requests": [...]}].
  browser.py --click URL SELECTOR [--fill SELECTOR=VALUE ...] [--screenshot FILE.png]
      (the console's re-drive) loads URL, sets each --fill element's value, clicks the
      element SELECTOR as a person would (its form submits, its script runs) and prints one
      JSON object: the page it led to, as OUT.json's entries ("status" is the status of the
      document the click led to, "clicked_from" the page before it); the screenshot is of
      the page before the click.
  browser.py --eval URL EXPRESSION
      (the A/B report's test) prints one JSON object: "requests" (every URL the page asked
      for), "bad" and "failed" (what failed to load), "errors" (exceptions, console errors,
      CSP violations) and "value" (EXPRESSION, a JavaScript expression evaluated after the
      load event, returned by value).
Exit 1 when Chromium could not be run or did not answer.
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

# What the page exposes to tests: every element with one of these data attributes.
EXTRACT = r"""
JSON.stringify({
  title: document.title,
  items: Array.from(document.querySelectorAll(
      '[data-worker],table[data-group],tr[data-topic],[data-tier],[data-job-id],tr[data-reason],' +
      'tr[data-result],[data-redriven],button[data-letter]'))
    .map(function (e) {
      var o = {tag: e.tagName.toLowerCase(), text: e.innerText.slice(0, 4000)};
      var g = e.closest('table[data-group]');
      if (g) o.group = g.dataset.group;
      for (var k in e.dataset) o[k] = e.dataset[k];
      return o;
    }),
  images: Array.from(document.images).map(function (i) {
    return {src: i.getAttribute('src'), ok: i.complete && i.naturalWidth > 0};
  }),
  scripts: document.scripts.length,
  pwned: window.pwned || 0,
  text: document.body ? document.body.innerText.slice(0, 20000) : ''
})
"""


class Chromium:
    def __init__(self):
        exe = shutil.which("chromium") or shutil.which("chromium-browser")
        if not exe:
            sys.exit("browser.py: chromium is not installed (bash scripts/install-deps.sh)")
        self.profile = tempfile.mkdtemp(prefix="pressroom-chromium.")
        to_child_r, self.to_child = os.pipe()
        self.from_child, from_child_w = os.pipe()

        def fds():
            os.dup2(to_child_r, 3)
            os.dup2(from_child_w, 4)

        self.proc = subprocess.Popen(
            [exe, "--headless=new", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
             "--no-first-run", "--no-default-browser-check", "--disable-extensions",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--window-size=1280,900", f"--user-data-dir={self.profile}", "about:blank"],
            pass_fds=(3, 4), preexec_fn=fds,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_child_r)
        os.close(from_child_w)
        self.buf = b""
        self.next_id = 0
        self.events = []

    def _read(self, deadline):
        while b"\0" not in self.buf:
            if time.time() > deadline:
                raise TimeoutError("Chromium did not answer in time")
            import select
            r, _, _ = select.select([self.from_child], [], [], 0.5)
            if r:
                chunk = os.read(self.from_child, 1 << 20)
                if not chunk:
                    raise RuntimeError("Chromium closed the pipe")
                self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, session=None, timeout=20):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.to_child, json.dumps(msg).encode() + b"\0")
        deadline = time.time() + timeout
        while True:
            m = self._read(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, name, session, timeout=20):
        deadline = time.time() + timeout
        while True:
            for i, e in enumerate(self.events):
                if e.get("method") == name and e.get("sessionId") == session:
                    return self.events.pop(i)
            self.events.append(self._read(deadline))

    def close(self):
        try:
            self.call("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


def open_page(b, url):
    """A new tab with the domains the checks read, navigated to url and loaded: (target, session)."""
    target = b.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    s = b.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Network", "Page", "Runtime", "Log"):
        b.call(f"{domain}.enable", session=s)
    b.events = [e for e in b.events if e.get("sessionId") != s]
    b.call("Page.navigate", {"url": url}, session=s)
    b.wait_event("Page.loadEventFired", s, timeout=30)
    time.sleep(0.3)  # late console messages, DOMContentLoaded handlers
    return target, s


def save_screenshot(b, s, path):
    png = b.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session=s)
    with open(path, "wb") as f:
        f.write(base64.b64decode(png["data"]))


def load(b, url, screenshot=None, expression=EXTRACT):
    target, s = open_page(b, url)
    value = b.call("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True},
                   session=s)
    if "exceptionDetails" in value:
        raise RuntimeError("evaluate: " + json.dumps(value["exceptionDetails"])[:300])
    result = value["result"].get("value")
    out = json.loads(result) if expression is EXTRACT else {"value": result}
    if screenshot:
        save_screenshot(b, s, screenshot)
    requests, status, bad, errors = {}, None, [], []
    for e in [e for e in b.events if e.get("sessionId") == s]:
        m, p = e.get("method"), e.get("params", {})
        if m == "Network.requestWillBeSent":
            requests[p["requestId"]] = p["request"]["url"]
        elif m == "Network.responseReceived":
            code = p["response"]["status"]
            if p.get("type") == "Document" and p["response"]["url"] == url:
                status = code
            elif code >= 400:
                bad.append({"url": p["response"]["url"], "status": code})
        elif m == "Network.loadingFailed":
            bad.append({"url": requests.get(p["requestId"], "?"), "error": p.get("errorText", "")})
        elif m == "Runtime.exceptionThrown":
            errors.append(p["exceptionDetails"].get("text", "") + " " +
                          json.dumps(p["exceptionDetails"].get("exception", {}).get("description", "")))
        elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            errors.append("console: " + " ".join(str(a.get("value", a.get("description", ""))) for a in p["args"]))
        elif m == "Log.entryAdded" and p["entry"].get("level") == "error":
            errors.append(f"log ({p['entry'].get('source')}): {p['entry'].get('text')}")
    b.events = [e for e in b.events if e.get("sessionId") != s]
    b.call("Target.closeTarget", {"targetId": target})
    out.update(url=url, status=status, bad=bad, failed=bad, errors=errors, requests=list(requests.values()))
    return out


def click(b, url, selector, fills, screenshot=None):
    target, s = open_page(b, url)
    before = b.call("Runtime.evaluate", {"expression": EXTRACT, "returnByValue": True}, session=s)
    if screenshot:
        save_screenshot(b, s, screenshot)
    script = "".join(f"document.querySelector({json.dumps(sel)}).value = {json.dumps(val)};" for sel, val in fills)
    script += (f"(function () {{ var e = document.querySelector({json.dumps(selector)});"
               f" if (!e) throw new Error('no element ' + {json.dumps(selector)}); e.click(); return 1; }})()")
    r = b.call("Runtime.evaluate", {"expression": script, "returnByValue": True}, session=s)
    if "exceptionDetails" in r:
        raise RuntimeError("click: " + json.dumps(r["exceptionDetails"])[:300])
    navigated = True
    try:
        b.wait_event("Page.loadEventFired", s, timeout=40)
    except TimeoutError:
        navigated = False  # the click did not lead anywhere (its script stopped it)
    time.sleep(0.3)
    value = b.call("Runtime.evaluate", {"expression": EXTRACT, "returnByValue": True}, session=s)
    out = json.loads(value["result"]["value"])
    status, bad, errors = None, [], []
    for e in [e for e in b.events if e.get("sessionId") == s]:
        m, p = e.get("method"), e.get("params", {})
        if m == "Network.responseReceived" and p.get("type") == "Document":
            status = p["response"]["status"]
        elif m == "Network.responseReceived" and p["response"]["status"] >= 400:
            bad.append({"url": p["response"]["url"], "status": p["response"]["status"]})
        elif m == "Runtime.exceptionThrown":
            errors.append(p["exceptionDetails"].get("text", ""))
        elif m == "Log.entryAdded" and p["entry"].get("level") == "error" and "status of 4" not in p["entry"].get("text", ""):
            errors.append(f"log ({p['entry'].get('source')}): {p['entry'].get('text')}")
    b.events = [e for e in b.events if e.get("sessionId") != s]
    b.call("Target.closeTarget", {"targetId": target})
    out.update(url=url, navigated=navigated, status=status if navigated else None, bad=bad, errors=errors,
               clicked_from=json.loads(before["result"]["value"]))
    return out


def main(argv):
    if len(argv) >= 4 and argv[1] == "--click":
        fills, shot, rest = [], None, iter(argv[4:])
        for a in rest:
            if a == "--fill":
                sel, val = next(rest).split("=", 1)
                fills.append((sel, val))
            elif a == "--screenshot":
                shot = next(rest)
            else:
                sys.exit(f"browser.py --click: unexpected argument {a}")
        b = Chromium()
        try:
            print(json.dumps(click(b, argv[2], argv[3], fills, shot)))
        except (TimeoutError, RuntimeError) as e:
            print(f"browser.py: {e}", file=sys.stderr)
            sys.exit(1)
        finally:
            b.close()
        return
    if len(argv) == 4 and argv[1] == "--eval":
        b = Chromium()
        try:
            print(json.dumps(load(b, argv[2], expression=argv[3])))
        except (TimeoutError, RuntimeError) as e:
            print(f"browser.py: {e}", file=sys.stderr)
            sys.exit(1)
        finally:
            b.close()
        return
    if len(argv) < 3:
        sys.exit(__doc__)
    out_path, urls, shots = argv[1], [], {}
    args = iter(argv[2:])
    for a in args:
        if a == "--screenshot":
            u, f = next(args).split("=", 1)
            shots[u] = f
        else:
            urls.append(a)
    b = Chromium()
    try:
        pages = [load(b, u, shots.get(u)) for u in urls]
    finally:
        b.close()
    with open(out_path, "w") as f:
        json.dump(pages, f, indent=1)


if __name__ == "__main__":
    main(sys.argv)
