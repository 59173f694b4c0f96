#!/usr/bin/env python3
"""browser.py -- load a page in headless Chromium (Debian's `chromium`) and report what
a real browser saw, over the DevTools protocol on a pipe (--remote-debugging-pipe: fd 3
in, fd 4 out, NUL-terminated JSON), so nothing beyond the standard library is needed.

  python3 tests/browser.py PAGE_URL EXPRESSION

Prints one JSON object: "requests" (every URL the page asked for), "failed" (requests
that failed to load, with the reason), "errors" (console errors, exceptions, CSP
violations) and "value" (EXPRESSION, a JavaScript expression evaluated after the load
event, returned by value). Exit 2 when the browser could not be driven."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

TIMEOUT_S = 30


class Browser:
    def __init__(self):
        exe = shutil.which("chromium") or shutil.which("chromium-browser")
        if not exe:
            sys.exit("browser.py: chromium not found (scripts/install-deps.sh installs it)")
        self.profile = tempfile.mkdtemp(prefix="pressroom-chromium.")
        to_child_r, self.to_child = os.pipe()
        self.from_child, from_child_w = os.pipe()
        # The child reads commands on fd 3 and writes answers on fd 4.
        def fds():
            r, w = os.dup(to_child_r), os.dup(from_child_w)  # above 4 whatever the pipes' numbers
            os.dup2(r, 3)
            os.dup2(w, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)
        self.proc = subprocess.Popen(
            [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
             "--disable-extensions", "--disable-background-networking", "--disable-sync",
             "--user-data-dir=" + self.profile, "--remote-debugging-pipe", "about:blank"],
            preexec_fn=fds, close_fds=False, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.profile, "stderr.log"), "w"))
        os.close(to_child_r)
        os.close(from_child_w)
        self.buf = b""
        self.next_id = 0
        self.events = []

    def send(self, method, params=None, session=None):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.to_child, json.dumps(msg).encode() + b"\0")
        return self.next_id

    def read_one(self, deadline):
        while b"\0" not in self.buf:
            if time.time() > deadline:
                raise TimeoutError("no answer from chromium within %d s" % TIMEOUT_S)
            import select
            r, _, _ = select.select([self.from_child], [], [], 0.5)
            if r:
                chunk = os.read(self.from_child, 1 << 20)
                if not chunk:
                    raise EOFError("chromium closed its pipe")
                self.buf += chunk
        raw, self.buf = self.buf.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method, params=None, session=None):
        want = self.send(method, params, session)
        deadline = time.time() + TIMEOUT_S
        while True:
            msg = self.read_one(deadline)
            if msg.get("id") == want:
                if "error" in msg:
                    raise RuntimeError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            self.events.append(msg)

    def wait_event(self, method, deadline):
        for i, e in enumerate(self.events):
            if e.get("method") == method:
                return self.events.pop(i)
        while True:
            msg = self.read_one(deadline)
            if msg.get("method") == method:
                return msg
            self.events.append(msg)

    def close(self):
        try:
            self.send("Browser.close")
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()
            self.proc.wait()
        if os.environ.get("BROWSER_LOG"):
            sys.stderr.write(open(os.path.join(self.profile, "stderr.log")).read())
        shutil.rmtree(self.profile, ignore_errors=True)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    url, expression = sys.argv[1], sys.argv[2]
    b = Browser()
    try:
        target = b.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        s = b.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Network", "Page", "Runtime", "Log"):
            b.call(domain + ".enable", session=s)
        b.call("Page.navigate", {"url": url}, session=s)
        deadline = time.time() + TIMEOUT_S
        b.wait_event("Page.loadEventFired", deadline)
        value = b.call("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True},
                       session=s)
        # Let late events (an image failing after load) arrive.
        b.call("Runtime.evaluate", {"expression": "new Promise(r => setTimeout(r, 200))", "awaitPromise": True},
               session=s)
        requests, failed, errors = [], [], []
        for e in b.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Network.requestWillBeSent":
                requests.append(p["request"]["url"][:80])
            elif m == "Network.loadingFailed":
                failed.append({"reason": p.get("errorText", ""), "blocked": p.get("blockedReason", "")})
            elif m == "Log.entryAdded" and p["entry"].get("level") == "error":
                errors.append(p["entry"].get("text", ""))
            elif m == "Runtime.exceptionThrown":
                errors.append(p["exceptionDetails"].get("text", "exception"))
            elif m == "Runtime.consoleAPICalled" and p.get("type") == "error":
                errors.append("console.error")
        if "exceptionDetails" in value:
            errors.append("evaluate: " + json.dumps(value["exceptionDetails"])[:300])
        print(json.dumps({"requests": requests, "failed": failed, "errors": errors,
                          "value": value.get("result", {}).get("value")}))
    except (TimeoutError, EOFError, RuntimeError) as e:
        print("browser.py: %s" % e, file=sys.stderr)
        sys.exit(2)
    finally:
        b.close()


if __name__ == "__main__":
    main()
