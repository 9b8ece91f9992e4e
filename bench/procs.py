"""Processes under test: start, wait, stop, and read their CPU time and memory from /proc."""

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from typing import Callable

TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stat_fields(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as f:
        # The command name may hold spaces and parentheses; fields resume after the last ')'.
        return f.read().rpartition(")")[2].split()


class Proc:
    """A process started in its own session, so that it and every child (LiteLLM's workers)
    can be measured and stopped as one group."""

    def __init__(self, name: str, argv: list[str], env: dict, log_path: str):
        self.name = name
        self.log_path = log_path
        self.log = open(log_path, "wb")
        self.started = time.perf_counter()
        self.popen = subprocess.Popen(
            argv, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.pid = self.popen.pid

    def pids(self) -> list[int]:
        """The process group: the process and every child it started."""
        out = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                if int(_stat_fields(int(entry))[2]) == self.pid:
                    out.append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
        return out or [self.pid]

    @staticmethod
    def cpu_seconds(pids: list[int]) -> float:
        total = 0
        for pid in pids:
            try:
                fields = _stat_fields(pid)
                total += int(fields[11]) + int(fields[12])  # utime + stime
            except (OSError, IndexError, ValueError):
                continue
        return total / TICKS

    @staticmethod
    def minor_faults(pid: int) -> int:
        """Minor page faults so far (/proc/<pid>/stat field 10): what fresh memory cost."""
        return int(_stat_fields(pid)[7])

    @staticmethod
    def touched_kb(pid: int, action: Callable[[], object]) -> int:
        """Kilobytes of the process's memory (code, data, stacks) touched while `action()` ran:
        the kernel's accessed bits cleared (/proc/<pid>/clear_refs), then summed (smaps'
        `Referenced`). What the process touches meanwhile for anything else (its timers, other
        threads) counts too."""
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("1")
        action()
        with open(f"/proc/{pid}/smaps") as f:
            return sum(int(line.split()[1]) for line in f if line.startswith("Referenced:"))

    @staticmethod
    def rss_bytes(pids: list[int]) -> int:
        total = 0
        for pid in pids:
            try:
                with open(f"/proc/{pid}/statm") as f:
                    total += int(f.read().split()[1]) * PAGE
            except (OSError, IndexError, ValueError):
                continue
        return total

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self) -> None:
        if self.alive():
            try:
                os.killpg(self.pid, signal.SIGTERM)
                self.popen.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, signal.SIGKILL)
                self.popen.wait(timeout=5)
        self.log.close()

    def log_tail(self, n: int = 20) -> str:
        with open(self.log_path, "rb") as f:
            return b"\n".join(f.read().splitlines()[-n:]).decode(errors="replace")


def wait_http(port: int, path: str, proc: Proc, timeout: float) -> float:
    """Waits (polling every 50 ms) until GET `path` answers 200; returns seconds since `proc`
    started. A failure carries the end of the process's log."""
    try:
        return first_http_answer(port, path, proc.started, proc.popen, timeout, interval=0.05)
    except RuntimeError as e:
        raise RuntimeError(f"{proc.name}: {e}\n{proc.log_tail()}") from None


def first_http_answer(port: int, path, started: float, popen, timeout: float = 10.0,
                      interval: float = 0.0005) -> float:
    """Seconds from `started` until a raw GET on 127.0.0.1:port gets a 200 status line (any
    status when `path` is None), polling every `interval` (0.5 ms: exec → ready measured without
    curl's own start-up)."""
    want = b"HTTP/1.1 200 " if path else b"HTTP/1.1 "
    request = f"GET {path or '/'} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if popen.poll() is not None:
            raise RuntimeError(f"exited with {popen.returncode} before answering")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(request)
                head = s.recv(64)
                if head.startswith(want):
                    return time.perf_counter() - started
        except OSError:
            pass
        time.sleep(interval)
    raise RuntimeError(f"no answer on port {port} within {timeout}s")


class RssSampler:
    """Samples the summed RSS of `pids` every 100 ms on a thread; `peak` and `samples` after stop."""

    def __init__(self, pids: list[int], interval: float = 0.1):
        self.pids = pids
        self.interval = interval
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(Proc.rss_bytes(self.pids))
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    @property
    def peak(self) -> int:
        return max(self.samples, default=0)


def pin(pids: list[int], cpus: set[int]) -> None:
    """Sets the CPU affinity of every thread of `pids` (threads started later inherit it)."""
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                os.sched_setaffinity(int(tid), cpus)
            except OSError:
                continue
