"""A city's issuer on one machine, for ``python -m bench load`` and its test: N
``healthcode-issuer serve`` processes on one database, nginx in front of them on 127.0.0.1, and
wrk driving nginx from a Lua script.

nginx runs from a folder of its own (``nginx -p DIR -c DIR/nginx.conf``: config, pid, logs and
temp paths all inside it, a free port, ``daemon off``), so it needs no change to /etc and no
privileged port; as root its worker runs as ``nobody`` and writes no file (the master opens the
logs). Every process started here is stopped by its own id when the block ends.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

#: Where Debian puts nginx (not on a non-root user's PATH).
_NGINX_FALLBACK = "/usr/sbin/nginx"
#: Idle keep-alive connections nginx holds to each serve process, and how long: below
#: ``serve --channel-timeout`` (30 s), so that nginx never sends a request on a connection
#: waitress is closing (a POST is not retried: it would fail).
UPSTREAM_KEEPALIVE, UPSTREAM_IDLE_S = 64, 15
#: One access-log line per request: which serve process answered, with what, how fast.
_LOG_FORMAT = "$request_method $uri $status $upstream_addr $upstream_status $request_time"


class MissingTool(RuntimeError):
    """nginx or wrk is not installed (``apt-get install nginx wrk``)."""


def tools() -> tuple[str, str]:
    """Return the paths of ``nginx`` and ``wrk``; raises :class:`MissingTool`."""
    nginx = shutil.which("nginx") or (_NGINX_FALLBACK if os.access(_NGINX_FALLBACK, os.X_OK)
                                      else None)
    wrk = shutil.which("wrk")
    missing = [name for name, path in (("nginx", nginx), ("wrk", wrk)) if path is None]
    if missing:
        raise MissingTool(f"{' and '.join(missing)} not installed: apt-get install -y "
                          f"--no-install-recommends {' '.join(missing)}")
    return nginx, wrk  # type: ignore[return-value]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen, what: str, log: Path,
                   timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start:\n{log.read_text(errors='replace')}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)


def _stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(sig)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass(frozen=True)
class Served:
    """A running ``serve`` process: its port on 127.0.0.1 and its process id."""

    port: int
    pid: int


def cpu_seconds(pids: Sequence[int]) -> float:
    """CPU time (user + system) the processes ``pids`` have used so far (Linux /proc)."""
    total = 0
    for pid in pids:
        # The fields after the command's closing bracket: utime and stime are 14th and 15th.
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


@contextmanager
def serve_processes(home: Path, env: dict[str, str], logs: Sequence[Path], threads: int = 8
                    ) -> Iterator[list[Served]]:
    """Run one ``healthcode-issuer serve`` per log file on free ports of 127.0.0.1, all
    started at once; yield them once every one accepts connections."""
    command = [str(Path(sys.executable).with_name("healthcode-issuer")), "serve", "--home",
               str(home), "--threads", str(threads), "--port"]
    started: list[tuple[subprocess.Popen, int, Path]] = []
    try:
        for log in logs:
            port = free_port()
            with open(log, "wb") as out:
                started.append((subprocess.Popen(command + [str(port)], env=env, stdout=out,
                                                 stderr=subprocess.STDOUT), port, log))
        for process, port, log in started:
            _wait_for_port(port, process, "the issuer server", log)
        yield [Served(port, process.pid) for process, port, _ in started]
    finally:
        for process, _, _ in started:
            _stop(process)


def nginx_config(folder: Path, port: int, upstreams: Sequence[int]) -> str:
    """The configuration of a loopback load balancer over ``upstreams`` (ports of
    127.0.0.1), everything it writes inside ``folder``."""
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=0;" for p in upstreams)
    temp = "\n".join(f"    {kind}_temp_path {folder / 'temp' / kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    # As root, nginx would switch its worker to a user named at build time; name one.
    user = ""
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        user = f"user nobody {grp.getgrgid(nobody.pw_gid).gr_name};\n"
    return f"""{user}worker_processes 1;
pid {folder / 'nginx.pid'};
error_log {folder / 'error.log'} warn;
events {{ worker_connections 4096; }}
http {{
{temp}
    log_format upstreams '{_LOG_FORMAT}';
    access_log {folder / 'access.log'} upstreams buffer=256k;
    upstream issuer {{
        least_conn;
{servers}
        keepalive {UPSTREAM_KEEPALIVE};
        keepalive_timeout {UPSTREAM_IDLE_S}s;
        keepalive_requests 1000000;
    }}
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        keepalive_requests 1000000;
        # Bodies and answers stay in memory: the worker (nobody, as root) writes no file.
        client_max_body_size 64k;
        client_body_buffer_size 64k;
        proxy_max_temp_file_size 0;
        location / {{
            proxy_pass http://issuer;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $remote_addr;
            # A failure is an error here, not a retry on the next process that hides it.
            proxy_next_upstream off;
            # A client gone mid-request still gets its request finished and logged with
            # the issuer's status, so that the log counts every credential issued.
            proxy_ignore_client_abort on;
            proxy_read_timeout 60s;
        }}
    }}
}}
"""


@contextmanager
def nginx(folder: Path, upstreams: Sequence[int]) -> Iterator[int]:
    """Run nginx in front of ``upstreams`` from ``folder`` (made here); yield its port. Its
    logs stay in the folder: ``access.log`` (see :func:`access_log`) and ``error.log``."""
    binary, _ = tools()
    (folder / "temp").mkdir(parents=True)
    port = free_port()
    (folder / "nginx.conf").write_text(nginx_config(folder, port, upstreams))
    log = folder / "error.log"
    process = subprocess.Popen([binary, "-p", f"{folder}/", "-c", str(folder / "nginx.conf"),
                                "-e", str(log), "-g", "daemon off;"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(port, process, "nginx", log)
        yield port
    finally:
        _stop(process, signal.SIGQUIT)  # graceful: the worker flushes the access log


@dataclass(frozen=True)
class Logged:
    """One request as nginx logged it."""

    method: str
    path: str
    status: int
    upstream: str


def access_log(folder: Path) -> list[Logged]:
    """The requests nginx logged in ``folder`` (read after it stopped)."""
    rows = []
    for line in (folder / "access.log").read_text().splitlines():
        method, path, status, upstream, *_ = line.split()
        rows.append(Logged(method, path, int(status), upstream))
    return rows


def nginx_problems(folder: Path) -> list[str]:
    """Error-level lines nginx wrote (a refused or reset upstream, a timeout)."""
    text = (folder / "error.log").read_text(errors="replace")
    return [line for line in text.splitlines()
            if re.search(r"\[(error|crit|alert|emerg)\]", line)]


def shares(rows: Sequence[Logged]) -> Counter[str]:
    """Requests per serve process (``127.0.0.1:port``)."""
    return Counter(row.upstream for row in rows)


# wrk -------------------------------------------------------------------------------------------

#: Request kinds: ``post`` (issue a credential, authority), ``assess`` (read the assessment,
#: authority), ``holder`` (a signed-in phone asks for its live code).
_LUA = """
local people = {%(people)s}
local kinds = {%(kinds)s}
local bearer = %(bearer)s
local threads, count = {}, 0
bad, last_bad = 0, 0
function setup(thread)
  count = count + 1
  thread:set("seed", count)
  table.insert(threads, thread)
end
function init(args)
  math.randomseed(os.time() * 7919 + seed)
end
function request()
  local person = people[math.random(#people)]
  local kind = kinds[math.random(#kinds)]
  if kind == "post" then
    return wrk.format("POST", "/api/people/" .. person[1] .. "/credentials",
      {["Authorization"] = bearer, ["Content-Type"] = "application/json"}, "{}")
  elseif kind == "assess" then
    return wrk.format("GET", "/api/people/" .. person[1] .. "/assessment",
      {["Authorization"] = bearer})
  end
  return wrk.format("GET", "/me/credential.json", {["Cookie"] = person[2]})
end
function response(status, headers, body)
  if status < 200 or status > 299 then bad = bad + 1; last_bad = status end
end
function done(summary, latency, requests)
  local n, last = 0, 0
  for _, t in ipairs(threads) do
    n = n + t:get("bad")
    if t:get("last_bad") ~= 0 then last = t:get("last_bad") end
  end
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%d %%d %%d %%.1f %%.1f %%.1f\\n", summary.requests,
    summary.duration, e.connect + e.read + e.write + e.timeout, n, last,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


@dataclass(frozen=True)
class Holder:
    """A person with a bound phone and a live session: the ``Cookie`` header it sends."""

    person_id: str
    cookie: str


def lua_script(people: Sequence[Holder], kinds: Sequence[str], secret: str) -> str:
    """A wrk script sending ``kinds`` (picked at random, so repeat one to weigh it) for
    people picked at random; it prints one ``RESULT`` line (see :func:`wrk`)."""
    return _LUA % {
        "people": ",".join(f"{{{json.dumps(p.person_id)},{json.dumps(p.cookie)}}}"
                           for p in people),
        "kinds": ",".join(json.dumps(k) for k in kinds),
        "bearer": json.dumps(f"Bearer {secret}")}


@dataclass(frozen=True)
class WrkRun:
    """What wrk saw: answers in the window, socket errors (connect, read, write, timeout),
    answers other than 2xx (and the last such status), latencies in seconds."""

    requests: int
    seconds: float
    socket_errors: int
    bad_status: int
    last_bad: int
    p50: float
    p99: float
    worst: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    @property
    def errors(self) -> int:
        return self.socket_errors + self.bad_status


def wrk(port: int, script: Path, connections: int, seconds: int, threads: int = 1) -> WrkRun:
    """Run wrk for ``seconds`` (whole) against 127.0.0.1:``port`` with ``script`` (from
    :func:`lua_script`)."""
    _, binary = tools()
    done = subprocess.run([binary, f"-t{threads}", f"-c{connections}", f"-d{int(seconds)}s",
                           "--latency", "--timeout", "30s", "-s", str(script),
                           f"http://127.0.0.1:{port}/"],
                          capture_output=True, text=True, timeout=seconds + 90, check=False)
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    if done.returncode or line is None:
        raise RuntimeError(f"wrk printed no result:\n{done.stdout}\n{done.stderr}")
    answered, duration_us, failed, bad, last, p50, p99, worst = (float(x) for x in
                                                                 line.split()[1:])
    return WrkRun(int(answered), duration_us / 1e6, int(failed), int(bad), int(last),
                  p50 / 1e6, p99 / 1e6, worst / 1e6)
