"""deploy/tmux-run.sh: starts the real app.py in a detached tmux session, once.

Runs against a private tmux server (TMUX_TMPDIR points at a temporary directory),
so it never touches a developer's own tmux sessions, and kills that server at the end.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.support import CI

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "deploy" / "tmux-run.sh"
START_TIMEOUT_S = 120

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None and not CI, reason="tmux is not installed")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _health(port: int) -> str:
    url = f"http://localhost:{port}/_stcore/health"
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode().strip()


@pytest.fixture()
def tmux_env():
    """Environment for a private tmux server and a unique session name; kills both afterwards."""
    # A short path of its own: tmux's socket path must fit in a sockaddr_un (about 100 bytes).
    socket_dir = tempfile.mkdtemp(prefix="genre-tmux-")
    env = dict(os.environ)
    env.pop("TMUX", None)  # not "inside" the caller's tmux
    env.pop("GENRE_ADDRESS", None)  # every address unless a test asks
    env["TMUX_TMPDIR"] = str(socket_dir)
    env["GENRE_TMUX_SESSION"] = f"genre-test-{uuid.uuid4().hex[:8]}"
    env["GENRE_START_TIMEOUT"] = str(START_TIMEOUT_S)
    try:
        yield env
    finally:
        session = env["GENRE_TMUX_SESSION"]
        subprocess.run(["tmux", "kill-session", "-t", f"={session}"], env=env, capture_output=True)
        subprocess.run(["tmux", "kill-server"], env=env, capture_output=True)
        shutil.rmtree(socket_dir, ignore_errors=True)
        log = ROOT / "logs" / f"streamlit-{session}.log"
        log.unlink(missing_ok=True)
        try:
            log.parent.rmdir()  # only if the test's log was the only thing there
        except OSError:
            pass


def _tmux(env, *args: str) -> str:
    done = subprocess.run(["tmux", *args], env=env, capture_output=True, text=True, check=True)
    return done.stdout


def _run_script(env, port: int | str, cwd: Path, script: Path = SCRIPT) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(script), str(port)],
        env=env,
        cwd=cwd,  # not the repository root: the script must find the repo itself
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_S + 60,
    )


def test_script_is_valid_bash():
    assert SCRIPT.is_file()
    assert os.access(SCRIPT, os.X_OK), "deploy/tmux-run.sh must be executable"
    done = subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_rejects_bad_port(tmux_env, tmp_path):
    done = _run_script(tmux_env, "not-a-port", tmp_path)
    assert done.returncode != 0
    assert "invalid port" in done.stderr


def test_rejects_an_address_that_is_not_one(tmux_env, tmp_path):
    env = dict(tmux_env, GENRE_ADDRESS="127.0.0.1; rm -rf ~")
    done = _run_script(env, _free_port(), tmp_path)
    assert done.returncode != 0 and "invalid GENRE_ADDRESS" in done.stderr


def test_a_session_an_older_script_started_is_refused_not_guessed(tmux_env, tmp_path):
    """An older tmux-run.sh recorded no address: the app may be public or not, so say so."""
    port = _free_port()
    _tmux(tmux_env, "new-session", "-d", "-s", tmux_env["GENRE_TMUX_SESSION"], "-e", f"GENRE_PORT={port}",
          "sleep", "300")
    done = _run_script(dict(tmux_env, GENRE_ADDRESS="127.0.0.1"), port, tmp_path)
    assert done.returncode != 0 and "did not record its address" in done.stderr


def _listening(port: int) -> set[str]:
    """The local addresses with a TCP socket listening on ``port``, read from the kernel's tables."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                raw = bytes.fromhex(address)
                words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))  # host-order words
                found.add(socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, words))
    return found


@pytest.mark.slow
def test_listens_on_the_address_given_only(tmux_env, tmp_path):
    """Behind nginx (GENRE_ADDRESS=127.0.0.1) the app is not reachable on the machine's other addresses."""
    port = _free_port()
    done = _run_script(dict(tmux_env, GENRE_ADDRESS="127.0.0.1"), port, tmp_path)
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert _health(port) == "ok" and "http://127.0.0.1:" in done.stdout
    assert _listening(port) == {"127.0.0.1"}
    again = _run_script(dict(tmux_env, GENRE_ADDRESS="127.0.0.1"), port, tmp_path)
    assert again.returncode == 0 and "already running" in again.stdout
    public = _run_script(tmux_env, port, tmp_path)  # asked for every address: never said to be running so
    assert public.returncode != 0 and "not every address" in public.stderr
    assert _listening(port) == {"127.0.0.1"}


@pytest.mark.slow
def test_starts_app_once_and_is_idempotent(tmux_env, tmp_path):
    assert (ROOT / "app.py").is_file(), "app.py is missing from the repository root"
    assert (ROOT / ".venv" / "bin" / "streamlit").exists(), "run `make test` (or `make .venv/bin/activate`) first"
    session = tmux_env["GENRE_TMUX_SESSION"]
    port = _free_port()

    first = _run_script(tmux_env, port, tmp_path)
    assert first.returncode == 0, f"stdout:\n{first.stdout}\nstderr:\n{first.stderr}"
    assert _health(port) == "ok"

    sessions = _tmux(tmux_env, "list-sessions", "-F", "#{session_name}").split()
    assert sessions == [session]
    pane_pid = _tmux(tmux_env, "list-panes", "-t", f"={session}", "-F", "#{pane_pid}").split()
    assert len(pane_pid) == 1
    log = ROOT / "logs" / f"streamlit-{session}.log"
    assert log.is_file(), "the script should log to logs/streamlit-<session>.log"

    second = _run_script(tmux_env, port, tmp_path)
    assert second.returncode == 0, f"stdout:\n{second.stdout}\nstderr:\n{second.stderr}"
    assert "already running" in second.stdout

    # Still the very same single server: one session, one pane, same process, port still served.
    assert _tmux(tmux_env, "list-sessions", "-F", "#{session_name}").split() == [session]
    assert _tmux(tmux_env, "list-panes", "-t", f"={session}", "-F", "#{pane_pid}").split() == pane_pid
    assert _health(port) == "ok"

    # Asked to listen on 127.0.0.1 only, an app on every address is refused, never reported as running;
    # 0.0.0.0 is every address, as no address is.
    local = _run_script(dict(tmux_env, GENRE_ADDRESS="127.0.0.1"), port, tmp_path)
    assert local.returncode != 0 and "on every address, not 127.0.0.1" in local.stderr
    every = _run_script(dict(tmux_env, GENRE_ADDRESS="0.0.0.0"), port, tmp_path)
    assert every.returncode == 0 and "already running" in every.stdout

    # Asking for the same session on another port must refuse rather than start a second app.
    other = _run_script(tmux_env, _free_port(), tmp_path)
    assert other.returncode != 0
    assert _tmux(tmux_env, "list-panes", "-t", f"={session}", "-F", "#{pane_pid}").split() == pane_pid


def test_reinstalls_when_requirements_changed(tmux_env, tmp_path):
    """After `git pull` brings a new requirements.txt, the script runs make before starting."""
    repo = tmp_path / "repo"
    (repo / "deploy").mkdir(parents=True)
    copy = repo / "deploy" / "tmux-run.sh"
    shutil.copy2(SCRIPT, copy)
    (repo / "app.py").write_text("")
    # make's own rule, as the project's Makefile has it: .venv/bin/activate depends on requirements.txt.
    (repo / "Makefile").write_text(
        ".venv/bin/activate: requirements.txt\n"
        "\tmkdir -p .venv/bin\n"
        "\tprintf '#!/bin/sh\\nsleep 30\\n' > .venv/bin/streamlit\n"
        "\tchmod +x .venv/bin/streamlit\n"
        "\techo made >> made.log\n"
        "\ttouch $@\n"
    )
    (repo / "requirements.txt").write_text("streamlit\n")
    env = dict(tmux_env, GENRE_START_TIMEOUT="1")

    first = _run_script(env, _free_port(), tmp_path, copy)
    assert "creating" in first.stdout
    assert (repo / "made.log").read_text().split() == ["made"]
    subprocess.run(["tmux", "kill-server"], env=env, capture_output=True)

    up_to_date = _run_script(env, _free_port(), tmp_path, copy)  # nothing changed: make is not run again
    assert (repo / "made.log").read_text().split() == ["made"]
    assert "updating" not in up_to_date.stdout and "creating" not in up_to_date.stdout
    subprocess.run(["tmux", "kill-server"], env=env, capture_output=True)

    later = (repo / ".venv" / "bin" / "activate").stat().st_mtime + 10
    os.utime(repo / "requirements.txt", (later, later))  # what `git pull` does to a changed file
    pulled = _run_script(env, _free_port(), tmp_path, copy)
    assert "requirements.txt changed" in pulled.stdout
    assert (repo / "made.log").read_text().split() == ["made", "made"]
