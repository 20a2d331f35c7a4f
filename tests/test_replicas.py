"""Two replicas of the real app behind Debian's nginx, with deploy/nginx-replicas.conf, on loopback.

nginx runs in the foreground from a temporary folder of its own (deploy/replicas.py), as whatever
user runs the tests. Checked: the page and the health endpoint through nginx, the WebSocket upgrade
through nginx, and stickiness: each browser (cookie) always reaches one replica, and different
browsers are spread over both.
"""
from __future__ import annotations

import base64
import http.client
import os
import re
import shutil
import socket
import urllib.request
from collections import defaultdict

import pytest

from deploy.replicas import SINGLE, Replicas
from tests.support import CI

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
pytestmark = [pytest.mark.slow, pytest.mark.skipif(NGINX is None and not CI, reason="nginx is not installed (apt-get install nginx)")]


@pytest.fixture(scope="module")
def replicas(tmp_path_factory):
    with Replicas(2, workdir=tmp_path_factory.mktemp("replicas"), timeout=300) as r:
        yield r


def _get(r: Replicas, path: str, cookie: str | None = None) -> tuple[int, str, str]:
    """(status, body, the genre_replica cookie nginx sets)."""
    conn = http.client.HTTPConnection("127.0.0.1", r.port, timeout=30)
    try:
        conn.request("GET", path, headers={"Cookie": f"genre_replica={cookie}"} if cookie else {})
        response = conn.getresponse()
        body = response.read().decode(errors="replace")
        set_cookie = " ".join(response.headers.get_all("Set-Cookie") or [])
    finally:
        conn.close()
    m = re.search(r"genre_replica=([^;\s]+)", set_cookie)
    return response.status, body, m.group(1) if m else ""


def test_page_and_health_through_nginx(replicas):
    status, body, key = _get(replicas, "/")
    assert status == 200
    assert "<html" in body.lower() and "streamlit" in body.lower()
    assert key, "nginx set no genre_replica cookie"
    with urllib.request.urlopen(f"{replicas.url}/_stcore/health", timeout=10) as response:
        assert response.read().strip() == b"ok"
    assert all(s.poll() is None for s in replicas.servers)


@pytest.mark.parametrize("host", ["127.0.0.1", "genre.example.com"])  # the second: a real domain's browser
def test_websocket_upgrade_through_nginx(replicas, host):
    _, _, key = _get(replicas, "/")
    where = f"{host}:{replicas.port}"
    with socket.create_connection(("127.0.0.1", replicas.port), timeout=30) as sock:
        nonce = base64.b64encode(os.urandom(16)).decode()
        sock.sendall((f"GET /_stcore/stream HTTP/1.1\r\nHost: {where}\r\n"
                      f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {nonce}\r\n"
                      f"Sec-WebSocket-Version: 13\r\nOrigin: http://{where}\r\n"
                      f"Cookie: genre_replica={key}\r\n\r\n").encode())
        head = sock.recv(4096).decode(errors="replace")
    assert head.startswith("HTTP/1.1 101"), head


def test_sessions_stick_to_one_replica_and_spread_over_both(replicas):
    keys = []
    for _ in range(20):  # 20 browsers: each first request without a cookie, then two with it
        status, _, key = _get(replicas, "/")
        assert status == 200 and key
        for path in ("/_stcore/health", "/_stcore/host-config"):
            assert _get(replicas, path, cookie=key)[0] == 200
        keys.append(key)
    upstreams = defaultdict(set)
    for _, upstream, key in replicas.served():
        if key in keys:
            upstreams[key].add(upstream)
    assert set(upstreams) == set(keys), "some requests are missing from nginx's access log"
    split = {key: ups for key, ups in upstreams.items() if len(ups) != 1}
    assert not split, f"one browser's requests went to several replicas: {split}"
    used = {next(iter(ups)) for ups in upstreams.values()}
    assert used == {f"127.0.0.1:{port}" for port in replicas.ports}, f"only {used} served the 20 browsers"


@pytest.mark.parametrize("host", ["127.0.0.1", "genre.example.com"])
def test_the_single_app_config_serves_the_page_and_the_websocket(tmp_path, host):
    """deploy/nginx.conf (deploy/ec2.md) in front of one app: the page, and the WebSocket a browser
    on the site's own domain opens."""
    with Replicas(1, workdir=tmp_path, timeout=300, conf=SINGLE) as one:
        with urllib.request.urlopen(f"{one.url}/_stcore/health", timeout=10) as response:
            assert response.read().strip() == b"ok"
        where = f"{host}:{one.port}"
        with socket.create_connection(("127.0.0.1", one.port), timeout=30) as sock:
            nonce = base64.b64encode(os.urandom(16)).decode()
            sock.sendall((f"GET /_stcore/stream HTTP/1.1\r\nHost: {where}\r\nUpgrade: websocket\r\n"
                          f"Connection: Upgrade\r\nSec-WebSocket-Key: {nonce}\r\nSec-WebSocket-Version: 13\r\n"
                          f"Origin: http://{where}\r\n\r\n").encode())
            head = sock.recv(4096).decode(errors="replace")
    assert head.startswith("HTTP/1.1 101"), head


def test_failed_start_leaves_no_folder(tmp_path):
    """A replica that cannot start (as a Python without Streamlit) is an error, and its folder goes too."""
    python = tmp_path / "python"
    python.write_text("#!/bin/sh\necho 'No module named streamlit' >&2\nexit 1\n")
    python.chmod(0o755)
    broken = Replicas(1, python=str(python), timeout=60)
    with pytest.raises(RuntimeError, match="did not become healthy"):
        with broken:
            pass
    assert not broken.workdir.exists()


def test_sigterm_stops_everything(tmp_path):
    """`kill` of deploy/replicas.py stops nginx and the replicas and removes its folder, as Ctrl-C does."""
    import signal
    import subprocess
    import sys

    from deploy.replicas import ROOT, free_port, healthy

    port = free_port()
    process = subprocess.Popen([sys.executable, "deploy/replicas.py", "--replicas", "1", "--port", str(port)],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()  # printed once nginx answers
        assert f"127.0.0.1:{port}" in line, process.stderr.read() if process.poll() is not None else line
        m = re.search(r"ports (\d+); files in (\S+);", line)
        replica, folder = int(m.group(1)), m.group(2)
        assert healthy(port) and healthy(replica)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert not healthy(port) and not healthy(replica)
    assert not os.path.exists(folder)
