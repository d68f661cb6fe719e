"""Headless Chromium driven over the DevTools protocol on a pipe: no driver, no extra package.

Chromium started with ``--remote-debugging-pipe`` reads JSON commands (NUL-terminated) on fd 3
and writes answers and events on fd 4. That is all the report tests need: open a file, evaluate
JavaScript, collect console errors and uncaught exceptions, take screenshots. Used by
tests/core/report/test_report.py, tests/perf/bench_report.py and scripts/report_screenshots.py.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
         "--disable-dev-shm-usage", "--remote-debugging-pipe")


def find_chromium() -> Optional[str]:
    """``$CHROMIUM_BIN``, else Debian's ``chromium`` (or another Chromium/Chrome on PATH)."""
    env = os.environ.get("CHROMIUM_BIN")
    if env:
        return env
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


class CDPError(RuntimeError):
    pass


class Browser:
    """One headless Chromium with a fresh profile; ``open(url)`` gives a ``Page``."""

    def __init__(self, binary: Optional[str] = None, width: int = 1280, height: int = 900, timeout: float = 60) -> None:
        binary = binary or find_chromium()
        if not binary:
            raise FileNotFoundError("no Chromium found (apt-get install chromium, or set CHROMIUM_BIN)")
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="cdp-profile-")
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def child_fds() -> None:  # chromium expects the pipe on fds 3 (commands) and 4 (replies)
            r = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
            w = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(r, 3)
            os.dup2(w, 4)

        self.proc = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={self.profile}", f"--window-size={width},{height}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            close_fds=False, preexec_fn=child_fds,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._next_id = 0
        self._messages: "queue.Queue[Optional[Dict[str, Any]]]" = queue.Queue()
        self.events: List[Dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.width, self.height = width, height

    def _read(self) -> None:
        buf = b""
        while True:
            try:
                data = os.read(self._from_chrome, 1 << 16)
            except OSError:
                data = b""
            if not data:
                self._messages.put(None)
                return
            buf += data
            while b"\0" in buf:
                msg, buf = buf.split(b"\0", 1)
                self._messages.put(json.loads(msg))

    def send(self, method: str, params: Optional[Dict[str, Any]] = None, session: Optional[str] = None,
             timeout: Optional[float] = None) -> Dict[str, Any]:
        self._next_id += 1
        wanted = self._next_id
        msg: Dict[str, Any] = {"id": wanted, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_chrome, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CDPError(f"{method}: no answer from Chromium")
            try:
                reply = self._messages.get(timeout=left)
            except queue.Empty:
                continue
            if reply is None:
                raise CDPError(f"{method}: Chromium exited (code {self.proc.poll()})")
            if reply.get("id") == wanted:
                if "error" in reply:
                    raise CDPError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def pump(self, seconds: float) -> None:
        """Collect events for a while (console messages arrive asynchronously)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                msg = self._messages.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if msg is None:
                break
            self.events.append(msg)

    def open(self, url: str) -> "Page":
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session)
        for domain in ("Runtime", "Log", "Page"):
            self.send(f"{domain}.enable", session=session)
        page.set_viewport(self.width, self.height)
        page.navigate(url)
        return page

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except (CDPError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_chrome, self._from_chrome):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class Page:
    def __init__(self, browser: Browser, session: str) -> None:
        self.browser = browser
        self.session = session

    def send(self, method: str, params: Optional[Dict[str, Any]] = None, timeout: Optional[float] = None) -> Dict[str, Any]:
        return self.browser.send(method, params, self.session, timeout)

    def navigate(self, url: str, timeout: float = 60) -> None:
        start = len(self.browser.events)
        self.send("Page.navigate", {"url": url})
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == "Page.loadEventFired" and e.get("sessionId") == self.session
                      for e in self.browser.events[start:]):
            if time.monotonic() > deadline:
                raise CDPError(f"{url} did not finish loading in {timeout} s")
            self.browser.pump(0.05)

    def eval(self, expression: str, timeout: Optional[float] = None) -> Any:
        """Value of a JavaScript expression (promises awaited); a thrown error raises CDPError."""
        res = self.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True, "returnByValue": True},
                        timeout)
        if "exceptionDetails" in res:
            details = res["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise CDPError(f"JavaScript error: {text}")
        return res.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout: float = 30) -> None:
        """Poll until the expression is truthy in JavaScript (DOM nodes included)."""
        deadline = time.monotonic() + timeout
        while True:
            if self.eval(f"!!({expression})"):
                return
            if time.monotonic() > deadline:
                raise CDPError(f"timed out waiting for: {expression}")
            self.browser.pump(0.05)

    def errors(self) -> List[str]:
        """Console errors, failed loads and uncaught exceptions of this page so far."""
        self.browser.pump(0.2)
        out = []
        for e in self.browser.events:
            if e.get("sessionId") != self.session:
                continue
            method, p = e.get("method"), e.get("params", {})
            if method == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                out.append("exception: " + (d.get("exception", {}).get("description") or d.get("text", "")))
            elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append("console.error: " + " ".join(str(a.get("value", a.get("description"))) for a in p.get("args", [])))
            elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append("log: " + p["entry"].get("text", ""))
        return out

    def set_viewport(self, width: int, height: int) -> None:
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def screenshot(self, path: Path, full_page: bool = False) -> Path:
        params: Dict[str, Any] = {"format": "png"}
        if full_page:
            size = self.eval("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
            params.update(captureBeyondViewport=True,
                          clip={"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1})
        data = self.send("Page.captureScreenshot", params)["data"]
        path = Path(path)
        path.write_bytes(base64.b64decode(data))
        return path
