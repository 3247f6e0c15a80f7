"""The process side of a mock: spawn, read its LISTENING lines, stop by pid.

Shared by MockExecutor (mock.py) and the repository's own integration
fixtures (tests/integration/conftest.py), which add their own policy on
top: what a failure raises, which exit codes are fine. Standard library
only; every wait is bounded by the caller's timeout.
"""

import os
import queue
import re
import signal
import subprocess
import threading
import time

LISTENING_RE = re.compile(r"^LISTENING (grpc|http|admin) (\S+):(\d+)$")


EXIT_READ_TIMEOUT = 5.0  # seconds to read stderr to its end once stdout ended


class NotListening(Exception):
    """wait_listening gave up: `exited` is True if stdout ended (the process
    is exiting), False if the timeout ran out."""

    def __init__(self, exited):
        super().__init__("exited before listening" if exited else "no LISTENING line in time")
        self.exited = exited


class LineReader:
    """Reads a pipe on a thread so the process never blocks on a full pipe:
    lines go to a queue (None at EOF) and to a transcript."""

    def __init__(self, pipe):
        self.lines = queue.Queue()
        self._text = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, args=(pipe,), daemon=True)
        self._thread.start()

    def _run(self, pipe):
        for raw in iter(pipe.readline, b""):
            line = raw.decode("utf-8", "replace")
            with self._lock:
                self._text.append(line)
            self.lines.put(line.rstrip("\r\n"))
        pipe.close()
        self.lines.put(None)  # EOF

    def join(self, timeout):
        self._thread.join(timeout)

    def text(self):
        with self._lock:
            return "".join(self._text)


class Process:
    """A child started with exactly argv, stdin closed, stdout and stderr
    read on threads. listeners holds every LISTENING line seen so far as
    (kind, host, port), in order."""

    def __init__(self, argv):
        self.argv = list(argv)
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.pid = self.proc.pid
        self._out = LineReader(self.proc.stdout)
        self._err = LineReader(self.proc.stderr)
        self.listeners = []

    def stdout(self):
        return self._out.text()

    def stderr(self):
        return self._err.text()

    def read_listening(self, enough, timeout):
        """Reads stdout into self.listeners until enough() is true; raises
        NotListening when timeout seconds run out or stdout ends first."""
        deadline = time.monotonic() + timeout
        while not enough():
            left = deadline - time.monotonic()
            if left <= 0:
                raise NotListening(exited=False)
            try:
                line = self._out.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                # stdout ended: the process is exiting. Read stderr to its
                # end too, so that the caller's message holds the reason
                # (bounded: EOF comes when the process is gone).
                self._err.join(EXIT_READ_TIMEOUT)
                raise NotListening(exited=True)
            m = LISTENING_RE.match(line)
            if m:
                self.listeners.append((m.group(1), m.group(2), int(m.group(3))))

    def signal(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            os.kill(self.pid, sig)

    def wait(self, timeout):
        """The exit code, or None if still running after timeout seconds."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def join_output(self, timeout):
        """Waits (bounded) until stdout and stderr have been read to the end."""
        self._out.join(timeout)
        self._err.join(timeout)

    def terminate(self, timeout):
        """SIGTERM by pid, a bounded wait, then SIGKILL; then the output is
        read to its end. True if it had to be killed."""
        killed = False
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            if self.wait(timeout) is None:
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait(timeout=timeout)
                killed = True
        self.join_output(timeout)
        return killed
