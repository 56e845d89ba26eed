#!/usr/bin/env python3
"""Drives headless Chromium through the DevTools protocol, for the tests of Ember's pictures.

Usage: cdp.py URL < steps.json

Chromium runs with --remote-debugging-pipe (commands on its fd 3, replies on fd 4, each message ending in a NUL),
so no port and no websocket library are needed. The page at URL is opened; then each step runs in order:
  {"eval": "JS"}                      evaluates JS in the page and prints its value as one JSON line
  {"mouse": "move"|"down"|"up"|"click", "at": "JS giving [x, y]"}   a left-button mouse event at that point
  {"key": "Escape"|"F3"|...}          a key press
  {"answer": "TEXT"}                  the answer to the next window.prompt
  {"sleep": SECONDS}
A failure prints {"error": ...} and exits 1.
"""
import json
import os
import shutil
import sys
import tempfile
import time


class Browser:
    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="ember-chromium-")
        to_r, self.to_w = os.pipe()
        self.from_r, from_w = os.pipe()
        binary = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
        if binary is None:
            raise RuntimeError("no chromium on PATH")
        self.pid = os.fork()
        if self.pid == 0:
            # Above 4 first, so that dup2 onto 3 and 4 never meets one of these pipes' own numbers.
            a, b = os.dup(to_r), os.dup(from_w)
            os.dup2(a, 3)
            os.dup2(b, 4)
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            os.execv(binary, [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                              "--disable-dev-shm-usage", "--remote-debugging-pipe", "--window-size=1400,1000",
                              "--user-data-dir=" + self.profile, "about:blank"])
        os.close(to_r)
        os.close(from_w)
        self.buffer = b""
        self.next_id = 0
        self.dialogs = 0
        self.answers = []
        self.session = None

    def send(self, method, params=None, session=True):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self.to_w, json.dumps(message).encode() + b"\0")
        sent = self.next_id
        return self.wait(lambda m: m.get("id") == sent)

    def wait(self, matches, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            while b"\0" in self.buffer:
                raw, self.buffer = self.buffer.split(b"\0", 1)
                message = json.loads(raw)
                if message.get("method") == "Page.javascriptDialogOpening":
                    answer = self.answers.pop(0) if self.answers else ""
                    params = {"accept": True, "promptText": answer}
                    # Its reply is not waited for (ids from 10^9 up, apart from the commands').
                    self.dialogs += 1
                    os.write(self.to_w, json.dumps({"id": 10**9 + self.dialogs, "method": "Page.handleJavaScriptDialog",
                                                    "params": params, "sessionId": self.session}).encode() + b"\0")
                if matches(message):
                    if "error" in message:
                        raise RuntimeError(json.dumps(message["error"]))
                    return message
            chunk = os.read(self.from_r, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed its pipe")
            self.buffer += chunk
        raise RuntimeError("no answer from chromium in %d s" % timeout)

    def open(self, url):
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)["result"]["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True}, session=False)["result"]["sessionId"]
        self.send("Page.enable")
        self.send("Runtime.enable")
        self.send("Page.navigate", {"url": url})
        self.wait(lambda m: m.get("method") == "Page.loadEventFired")

    def evaluate(self, expression):
        reply = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        result = reply["result"]
        if "exceptionDetails" in result:
            raise RuntimeError("%s: %s" % (expression[:80], result["exceptionDetails"].get("exception", {}).get("description", "")))
        return result["result"].get("value")

    def mouse(self, kind, x, y):
        events = {"move": ["mouseMoved"], "down": ["mousePressed"], "up": ["mouseReleased"],
                  "click": ["mouseMoved", "mousePressed", "mouseReleased"]}[kind]
        for event in events:
            if event == "mousePressed":
                self.pressed = True
            # A move while the button is down is a drag: it says so, as a real mouse's does.
            self.send("Input.dispatchMouseEvent", {"type": event, "x": x, "y": y, "clickCount": 1,
                                                   "button": "left" if self.pressed or event != "mouseMoved" else "none",
                                                   "buttons": 1 if self.pressed else 0})
            if event == "mouseReleased":
                self.pressed = False

    pressed = False

    def key(self, name):
        codes = {"Escape": 27, "F3": 114, "Enter": 13}
        for kind in ("rawKeyDown", "keyUp"):
            self.send("Input.dispatchKeyEvent", {"type": kind, "key": name, "code": name,
                                                 "windowsVirtualKeyCode": codes.get(name, 0)})

    def close(self):
        try:
            self.send("Browser.close", session=False)
        except Exception:
            pass
        try:
            os.kill(self.pid, 9)
        except OSError:
            pass
        os.waitpid(self.pid, 0)
        shutil.rmtree(self.profile, ignore_errors=True)


def main():
    steps = json.load(sys.stdin)
    browser = Browser()
    try:
        browser.open(sys.argv[1])
        for step in steps:
            if "eval" in step:
                print(json.dumps(browser.evaluate(step["eval"])), flush=True)
            elif "mouse" in step:
                x, y = browser.evaluate(step["at"])
                browser.mouse(step["mouse"], x, y)
            elif "key" in step:
                browser.key(step["key"])
            elif "answer" in step:
                browser.answers.append(step["answer"])
            elif "sleep" in step:
                time.sleep(step["sleep"])
    except Exception as e:
        print(json.dumps({"error": str(e)}), flush=True)
        sys.exit(1)
    finally:
        browser.close()


if __name__ == "__main__":
    main()
