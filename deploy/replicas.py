"""Run N replicas of the app behind nginx on this machine's loopback, with deploy/nginx-replicas.conf.

For trying the replica setup and for the tests and the load benchmark: the replicas are
``streamlit run app.py`` on free loopback ports, and nginx runs in the foreground from a folder of its
own (its config, pid, logs and temporary files), touching no system path, as any user.

    .venv/bin/python deploy/replicas.py [--replicas 2] [--port 8080]   # Ctrl-C or SIGTERM stops everything

The nginx config is deploy/nginx-replicas.conf itself, with its upstream servers and its listen
address replaced, wrapped in a minimal main config; the access log records which replica served
each request (``$upstream_addr``) and the session's stickiness key.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONF = ROOT / "deploy" / "nginx-replicas.conf"
LOG_FORMAT = '$remote_addr [$time_local] "$request" $status upstream=$upstream_addr key=$genre_replica_key rt=$request_time'
SINGLE = ROOT / "deploy" / "nginx.conf"  # one app behind nginx (deploy/ec2.md): ``Replicas(1, conf=SINGLE)``


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def app_command(port: int, python: str = sys.executable) -> list[str]:
    """``streamlit run app.py`` headless on ``127.0.0.1:port``: one app process behind a proxy or a bench."""
    return [python, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
            "--server.address", "127.0.0.1", "--server.headless", "true"]


def healthy(port: int, timeout: float = 2) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=timeout) as r:
            return r.read().strip() == b"ok"
    except OSError:
        return False


def render(conf: str, upstream_ports: list[int], listen_port: int, workdir: Path) -> str:
    """A complete nginx.conf: ``conf`` (a sites-available file) on loopback, around the given replicas."""
    servers = re.findall(r"^(\s*)server\s+127\.0\.0\.1:\d+([^;]*);\s*$", conf, flags=re.M)
    assert servers, "no `server 127.0.0.1:PORT ...;` lines in the upstream block"
    indent, options = servers[0]
    lines = "\n".join(f"{indent}server 127.0.0.1:{port}{options};" for port in upstream_ports)
    body = re.sub(r"^\s*server\s+127\.0\.0\.1:\d+[^;]*;\s*\n", "", conf, flags=re.M)
    body = re.sub(r"(upstream\s+\w+\s*\{[^}]*?)(\n\s*\})", lambda m: m.group(1) + "\n" + lines + m.group(2), body, count=1)
    body = re.sub(r"^\s*listen\s+\[::\]:80;\s*\n", "", body, flags=re.M)
    body, n = re.subn(r"^(\s*)listen\s+80;", rf"\g<1>listen 127.0.0.1:{listen_port};", body, flags=re.M)
    assert n == 1, "expected one `listen 80;`"
    log_format = LOG_FORMAT if "$genre_replica_key" in body else LOG_FORMAT.replace(" key=$genre_replica_key", "")
    temp = "\n".join(f"    {kind}_temp_path {workdir / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    # As root, nginx's workers would switch to `nobody`, who cannot enter a private temporary folder.
    user = "user root;\n" if os.geteuid() == 0 else ""
    return (f"{user}worker_processes 1;\npid {workdir / 'nginx.pid'};\nerror_log {workdir / 'error.log'} notice;\n"
            f"events {{ worker_connections 1024; }}\n"
            f"http {{\n{temp}\n    log_format genre '{log_format}';\n    access_log {workdir / 'access.log'} genre;\n"
            f"{body}\n}}\n")


def stop_process(process: subprocess.Popen | None, sig=signal.SIGTERM) -> None:
    """Stop a process started in its own session (and its children): ``sig``, then SIGKILL after 20 s."""
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=20)


class Replicas:
    """``with Replicas(2) as r: r.url`` -- N app processes and nginx, stopped on exit."""

    def __init__(self, replicas: int = 2, port: int | None = None, workdir: Path | None = None,
                 python: str = sys.executable, timeout: float = 300, conf: Path = CONF):
        self.count, self.port, self.python, self.timeout, self.conf = replicas, port or free_port(), python, timeout, conf
        self._own_dir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="genre-replicas-"))
        self.ports: list[int] = []
        self.servers: list[subprocess.Popen] = []
        self.nginx: subprocess.Popen | None = None
        self._logs = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def access_log(self) -> Path:
        return self.workdir / "access.log"

    def _popen(self, argv: list[str], log_name: str) -> subprocess.Popen:
        log = open(self.workdir / log_name, "wb")
        self._logs.append(log)
        return subprocess.Popen(argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)

    def _tail(self, log_name: str) -> str:
        path = self.workdir / log_name
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def start(self) -> "Replicas":
        nginx = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)
        if nginx is None:
            raise RuntimeError("nginx is not installed (apt-get install nginx)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        for i in range(self.count):
            port = free_port()
            self.ports.append(port)
            self.servers.append(self._popen(app_command(port, self.python), f"replica{i}.log"))
        deadline = time.monotonic() + self.timeout
        for i, (port, server) in enumerate(zip(self.ports, self.servers)):
            while not healthy(port):
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"replica {i} on port {port} did not become healthy:\n{self._tail(f'replica{i}.log')}")
                time.sleep(0.5)
        conf = self.workdir / "nginx.conf"
        conf.write_text(render(self.conf.read_text(), self.ports, self.port, self.workdir))
        test = subprocess.run([nginx, "-t", "-p", str(self.workdir), "-e", str(self.workdir / "error.log"),
                               "-c", str(conf)], capture_output=True, text=True)
        if test.returncode != 0:
            raise RuntimeError(f"nginx -t refused the config:\n{test.stderr}")
        self.nginx = self._popen([nginx, "-p", str(self.workdir), "-e", str(self.workdir / "error.log"),
                                  "-c", str(conf), "-g", "daemon off;"], "nginx.out")
        while not healthy(self.port):
            if self.nginx.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"nginx did not answer on port {self.port}:\n{self._tail('error.log')}")
            time.sleep(0.2)
        return self

    def stop(self) -> None:
        stop_process(self.nginx, signal.SIGQUIT)  # graceful: lets open requests finish
        for server in self.servers:
            stop_process(server)
        for log in self._logs:
            log.close()
        self._logs = []

    def served(self) -> list[tuple[str, str, str]]:
        """(request line, upstream address, stickiness key) for each request in the access log."""
        pattern = re.compile(r'"([^"]*)" \d+ upstream=(\S+) key=(\S+)')
        if not self.access_log.exists():
            return []
        return [m.groups() for m in map(pattern.search, self.access_log.read_text().splitlines()) if m]

    def close(self) -> None:
        """Stop everything and remove the folder this object made (not one it was given)."""
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> "Replicas":
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc) -> None:
        self.close()


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt  # SIGTERM (kill, systemd, tmux kill-session) stops as Ctrl-C does


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--port", type=int, default=8080, help="nginx's port on 127.0.0.1")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    try:
        with Replicas(args.replicas, args.port) as r:
            print(f"{r.url}  ->  replicas on ports {', '.join(map(str, r.ports))}; files in {r.workdir}; "
                  "Ctrl-C stops", flush=True)
            while all(s.poll() is None for s in r.servers) and r.nginx.poll() is None:
                time.sleep(1)
    except KeyboardInterrupt:
        pass
    except RuntimeError as exc:  # a replica or nginx did not start: say why, no traceback
        print(f"replicas: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
