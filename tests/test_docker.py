"""The Docker image, built and run for real: the way a self-hoster uses it.

The slow test starts a Docker daemon when none answers (as root, `dockerd --bridge=none`), builds
the repository's Dockerfile with the classic builder, runs the image on the host's network on a free
port, waits for its health endpoint, checks the app runs as a non-root user, that the whole model/
directory is in the image and nothing of the build's CA file is, and classifies a demo song inside
the container. Then it removes the container and the image (the base image is kept, by name).

The base: ``GENRE_DOCKER_BASE`` when set; else ``python:3.12-slim`` when the daemon already has it
(the image users get); else one made here from Debian's packages (``debootstrap --variant=minbase
bookworm``, imported as ``genre-ci-base:bookworm``), for machines that cannot reach Docker Hub.
The host's CA bundle goes to pip as ``pip-cert.pem`` (for networks that re-sign TLS).

It skips only when no Docker daemon answers and none can be started, and says why; with
``GENRE_REQUIRE_DOCKER=1`` (CI) it fails instead.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
GENRES = {"blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock"}
CI_BASE = "genre-ci-base:bookworm"
DEPS_IMAGE = "genre-ci-deps:latest"  # the pip stage, kept tagged between runs (its cache is the slow part)
DEFAULT_BASE = "python:3.12-slim"
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
BUILD_TIMEOUT_S = 1800
START_TIMEOUT_S = 180


# --- fast: what the default build is --------------------------------------------------------------


def test_default_base_is_python_312_slim():
    """Users get python:3.12-slim; the base argument is only an option (CI uses it)."""
    text = DOCKERFILE.read_text()
    first_from = text.index("\nFROM ")
    args = dict(re.findall(r"^ARG\s+(\w+)=(\S+)", text[:first_from], flags=re.M))
    assert args.get("BASE_IMAGE") == DEFAULT_BASE, args
    assert re.search(r"^FROM \$\{BASE_IMAGE\} AS base$", text, flags=re.M)


def test_build_ca_file_is_never_committed():
    ignored = subprocess.run(["git", "check-ignore", "-q", "pip-cert.pem"], cwd=ROOT)
    assert ignored.returncode == 0, "add /pip-cert.pem to .gitignore"


# --- the daemon -------------------------------------------------------------------------------------


def _docker(*args: str, timeout: float = 120, check: bool = True, **kw) -> subprocess.CompletedProcess:
    env = dict(os.environ, DOCKER_BUILDKIT="0")  # the classic builder: buildx is not needed
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, env=env, **kw)
    if check and done.returncode != 0:
        raise AssertionError(f"docker {' '.join(args[:3])} ... exited {done.returncode}:\n"
                             f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


def _daemon_answers() -> bool:
    try:
        return _docker("info", "--format", "{{.ServerVersion}}", timeout=20, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _unavailable(reason: str):
    if os.environ.get("GENRE_REQUIRE_DOCKER") == "1":
        pytest.fail(f"GENRE_REQUIRE_DOCKER=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def docker_daemon():
    """A Docker daemon that answers; started here (and stopped afterwards) when none does."""
    if shutil.which("docker") is None:
        _unavailable("no docker command (apt-get install docker.io)")
    if _daemon_answers():
        yield
        return
    dockerd = shutil.which("dockerd") or next((p for p in ("/usr/sbin/dockerd", "/usr/bin/dockerd") if os.access(p, os.X_OK)), None)
    if dockerd is None:
        _unavailable("no Docker daemon answers and dockerd is not installed (apt-get install docker.io)")
    if os.geteuid() != 0:
        _unavailable("no Docker daemon answers, and starting dockerd needs root")
    log_dir = Path(tempfile.mkdtemp(prefix="genre-dockerd-"))
    log = open(log_dir / "dockerd.log", "wb")
    # No bridge and no iptables rules: builds and containers use the host's network only.
    daemon = subprocess.Popen([dockerd, "--bridge=none", "--iptables=false", "--ip6tables=false"],
                              stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not _daemon_answers():
            if daemon.poll() is not None or time.monotonic() > deadline:
                tail = (log_dir / "dockerd.log").read_text(errors="replace")[-2000:]
                _unavailable(f"dockerd could not be started (exit {daemon.poll()}):\n{tail}")
            time.sleep(0.5)
        yield
    finally:
        if daemon.poll() is None:
            daemon.terminate()
            try:
                daemon.wait(timeout=60)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait(timeout=30)
        log.close()
        shutil.rmtree(log_dir, ignore_errors=True)


def _has_image(name: str) -> bool:
    return _docker("image", "inspect", name, check=False, timeout=30).returncode == 0


def make_debian_base(name: str = CI_BASE, suite: str = "bookworm") -> str:
    """A Debian base image from Debian's packages (no registry needed); kept under ``name``."""
    if _has_image(name):
        return name
    if shutil.which("debootstrap") is None:
        pytest.fail(f"no {DEFAULT_BASE} here and no debootstrap to make a base (apt-get install debootstrap)")
    root = Path(tempfile.mkdtemp(prefix="genre-base-"))
    try:
        subprocess.run(["debootstrap", "--variant=minbase", suite, str(root / "fs"), "http://deb.debian.org/debian"],
                       check=True, capture_output=True, timeout=900)
        for deb in (root / "fs" / "var" / "cache" / "apt" / "archives").glob("*.deb"):
            deb.unlink()
        tar = subprocess.Popen(["tar", "-C", str(root / "fs"), "-c", "."], stdout=subprocess.PIPE)
        try:
            _docker("import", "-", name, stdin=tar.stdout, timeout=300)
        finally:
            tar.stdout.close()
            assert tar.wait(timeout=60) == 0, "tar of the base failed"
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return name


@pytest.fixture(scope="module")
def base_image(docker_daemon) -> str:
    chosen = os.environ.get("GENRE_DOCKER_BASE")
    if chosen:
        return chosen
    if _has_image(DEFAULT_BASE):
        return DEFAULT_BASE
    return make_debian_base()


# --- the image and its container ------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _health(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=5) as response:
        return response.read().decode().strip()


def _report(config, line: str) -> None:
    """A line in pytest's own output, captured or not (the figures the README quotes)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"[docker] {line}")


@dataclass
class Image:
    tag: str
    model_files: dict  # model/'s files and their sizes when the build started


def _model_files() -> dict[str, str]:
    return {p.relative_to(ROOT / "model").as_posix(): str(p.stat().st_size)
            for p in (ROOT / "model").rglob("*") if p.is_file() and "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def image(base_image, pytestconfig):
    tag = f"genre-test:{uuid.uuid4().hex[:10]}"
    cert = ROOT / "pip-cert.pem"
    ours = False
    if HOST_CA.is_file() and not cert.exists():
        shutil.copyfile(HOST_CA, cert)  # for pip behind a TLS-re-signing proxy; never in the image
        ours = True
    model_files = _model_files()  # the context is read when the build starts
    dangling = _dangling()  # the build's earlier stages are left untagged: removed with the image
    began = time.monotonic()
    try:
        _docker("build", "--network", "host", "--force-rm", "--build-arg", f"BASE_IMAGE={base_image}",
                "-t", tag, str(ROOT), timeout=BUILD_TIMEOUT_S)
        # The dependency stage (a cache hit now) tagged, so the clean-up below keeps it for the next run.
        _docker("build", "--network", "host", "--force-rm", "--build-arg", f"BASE_IMAGE={base_image}",
                "--target", "deps", "-t", DEPS_IMAGE, str(ROOT), timeout=BUILD_TIMEOUT_S)
    finally:
        if ours:
            cert.unlink(missing_ok=True)
    seconds = time.monotonic() - began
    size = int(_docker("image", "inspect", "--format", "{{.Size}}", tag).stdout)
    _report(pytestconfig, f"built {tag} on {base_image} in {seconds:.0f} s; image size {size / 1e9:.2f} GB")
    try:
        yield Image(tag, model_files)
    finally:
        _docker("rmi", "-f", tag, check=False, timeout=300)
        stages = sorted(_dangling() - dangling)  # this build's source stage (about 330 MB a run otherwise)
        if stages:
            _docker("rmi", "-f", *stages, check=False, timeout=300)


def _dangling() -> set[str]:
    """The untagged images on the daemon."""
    return set(_docker("images", "-q", "--no-trunc", "-f", "dangling=true", check=False).stdout.split())


@pytest.fixture(scope="module")
def container(image):
    port = _free_port()
    name = f"genre-test-{uuid.uuid4().hex[:10]}"
    _docker("run", "-d", "--name", name, "--network", "host",
            "-e", f"STREAMLIT_SERVER_PORT={port}", "-e", "STREAMLIT_SERVER_ADDRESS=127.0.0.1", image.tag)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                if _health(port) == "ok":
                    break
            except OSError:
                pass
            running = _docker("inspect", "--format", "{{.State.Running}}", name, check=False).stdout.strip()
            if running != "true" or time.monotonic() > deadline:
                logs = _docker("logs", "--tail", "60", name, check=False)
                pytest.fail(f"the container never answered /_stcore/health on port {port} "
                            f"(running: {running}):\n{logs.stdout}\n{logs.stderr}")
            time.sleep(1)
        yield name, port, image
    finally:
        _docker("rm", "-f", name, check=False)


@pytest.mark.slow
def test_image_serves_the_app_as_a_non_root_user(container):
    name, port, _ = container
    assert _health(port) == "ok"
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
        assert response.status == 200
        assert "<html" in response.read().decode(errors="replace").lower()
    # The server process itself, as the host's kernel sees it, and a command run in the container.
    pid = _docker("inspect", "--format", "{{.State.Pid}}", name).stdout.strip()
    uids = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("Uid:"))
    assert all(uid != "0" for uid in uids.split()[1:]), f"the app runs as root: {uids}"
    assert _docker("exec", name, "id", "-u").stdout.strip() != "0"
    # It may write its caches and tag's journal, never its code or its model.
    writable = _docker("exec", name, "sh", "-c", "for f in /app/.cache/numba /app/.local/state /app/app.py "
                       "/app/genre /app/genre/audio.py /app/model /app/model/fusion.json; do "
                       "test -w $f && echo $f; done; true").stdout.split()
    assert writable == ["/app/.cache/numba", "/app/.local/state"], writable


@pytest.mark.slow
def test_image_has_the_whole_model_and_no_build_ca(container):
    name, _, image = container
    listing = _docker("exec", name, "sh", "-c", "cd /app/model && find . -type f -printf '%P %s\\n'").stdout
    inside = dict(line.rsplit(" ", 1) for line in listing.splitlines())
    missing = {k: v for k, v in image.model_files.items() if inside.get(k) != v}
    assert not missing, f"model/ files missing or different in the image: {sorted(missing)}"
    leftovers = _docker("exec", name, "sh", "-c", "ls /app/pip-cert.pem /tmp/deps 2>/dev/null; true").stdout
    assert not leftovers.strip(), f"the build's CA file is in the image: {leftovers}"


@pytest.mark.slow
def test_image_classifies_a_demo_song(container, pytestconfig):
    name, _, _ = container
    demo = sorted((ROOT / "assets" / "demo").glob("*.mp3"))[0].relative_to(ROOT).as_posix()
    done = _docker("exec", name, "python", "-m", "genre", "predict", demo, "--json", timeout=300)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result.get("file") == demo and "error" not in result, result
    assert result["genre"] in GENRES
    probabilities = result["probabilities"]
    assert set(probabilities) == GENRES
    assert abs(sum(probabilities.values()) - 1) < 1e-3, probabilities
    assert result["genre"] == max(probabilities, key=probabilities.get)
    _report(pytestconfig, f"in the container: {demo} -> {result['genre']} {result['confidence']:.0%}")


@pytest.mark.slow
def test_image_needs_no_network_to_predict(image):
    """Nothing is downloaded at run time: the model and ffmpeg are in the image."""
    demo = sorted((ROOT / "assets" / "demo").glob("*.mp3"))[-1].relative_to(ROOT).as_posix()
    done = _docker("run", "--rm", "--network", "none", image.tag, "python", "-m", "genre", "predict", demo, "--json",
                   timeout=300)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result.get("genre") in GENRES, result
