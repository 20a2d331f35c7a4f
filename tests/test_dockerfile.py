"""The Dockerfile, checked against the repository (no Docker engine needed).

A small parser reads the Dockerfile's instructions (continuation lines, comments,
JSON and shell forms); the tests then check that what the image would copy, install
and run actually exists here and matches what `make run` uses.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"


@dataclass
class Instruction:
    keyword: str  # upper-case, e.g. "RUN"
    args: str  # everything after the keyword, continuation lines joined
    line: int  # 1-based line where the instruction starts


def parse_dockerfile(text: str) -> list[Instruction]:
    instructions: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue  # blank line, comment or parser directive
        if pending and stripped.startswith("#"):
            continue  # comment lines inside a continued instruction are dropped by Docker
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1].strip())
            continue
        pending.append(stripped)
        joined = " ".join(part for part in pending if part)
        keyword, _, args = joined.partition(" ")
        instructions.append(Instruction(keyword.upper(), args.strip(), start))
        pending = []
    assert not pending, "Dockerfile ends inside a continued line"
    return instructions


def exec_form(args: str) -> list[str] | None:
    """The JSON-array ("exec") form of CMD/ENTRYPOINT/RUN, or None for shell form."""
    if args.startswith("["):
        value = json.loads(args)
        assert isinstance(value, list) and all(isinstance(v, str) for v in value)
        return value
    return None


def split_flags(args: str) -> tuple[dict[str, str], list[str]]:
    """Split `--flag=value` options from the positional words (COPY, HEALTHCHECK, ...)."""
    words = shlex.split(args)
    flags: dict[str, str] = {}
    while words and words[0].startswith("--"):
        name, _, value = words.pop(0)[2:].partition("=")
        flags[name] = value
    return flags, words


def env_vars(instructions: list[Instruction]) -> dict[str, str]:
    found: dict[str, str] = {}
    for ins in instructions:
        if ins.keyword != "ENV":
            continue
        words = shlex.split(ins.args)
        if words and "=" not in words[0]:  # legacy `ENV KEY value`
            found[words[0]] = " ".join(words[1:])
            continue
        for word in words:
            key, _, value = word.partition("=")
            found[key] = value
    return found


@pytest.fixture(scope="module")
def instructions() -> list[Instruction]:
    assert DOCKERFILE.is_file(), "Dockerfile is missing"
    parsed = parse_dockerfile(DOCKERFILE.read_text())
    assert parsed, "Dockerfile has no instructions"
    return parsed


def _only(instructions: list[Instruction], keyword: str) -> list[Instruction]:
    return [ins for ins in instructions if ins.keyword == keyword]


def _index(instructions: list[Instruction], keyword: str) -> int:
    for i, ins in enumerate(instructions):
        if ins.keyword == keyword:
            return i
    raise AssertionError(f"no {keyword} instruction")


def _copies(instructions: list[Instruction]) -> list[tuple[Instruction, list[str]]]:
    """Each local COPY/ADD with its source paths (COPY --from=... sources are not in the repo)."""
    result = []
    for ins in instructions:
        if ins.keyword not in {"COPY", "ADD"}:
            continue
        form = exec_form(ins.args)
        if form is not None:
            flags, words = {}, form
        else:
            flags, words = split_flags(ins.args)
        if "from" in flags:
            continue
        assert len(words) >= 2, f"line {ins.line}: {ins.keyword} needs a source and a destination"
        result.append((ins, words[:-1]))
    return result


def _dockerignore_patterns(path: Path) -> list[tuple[bool, str]]:
    """(negated, pattern) pairs, in file order."""
    patterns = []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = (line[1:] if negated else line).strip()
        while pattern.startswith("./"):
            pattern = pattern[2:]
        patterns.append((negated, pattern.strip("/")))
    return patterns


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """Docker's .dockerignore glob: `*` and `?` stay within one path element, `**` spans any."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 1 :]:
            end = pattern.index("]", i + 1)
            body = pattern[i + 1 : end]
            out.append("[" + ("^" + body[1:] if body.startswith("^") else body) + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def dockerignored(relpath: str, ignore_file: Path = DOCKERIGNORE) -> bool:
    """Whether .dockerignore keeps `relpath` (or a parent directory of it) out of the build context."""
    parts = Path(relpath).parts
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for negated, pattern in _dockerignore_patterns(ignore_file):
        regex = _glob_regex(pattern)
        if negated:
            # `!path` re-includes that path (and what is below it).
            if any(regex.match(c) for c in candidates):
                excluded = False
        elif any(regex.match(c) for c in candidates):
            excluded = True
    return excluded


# --- the parser itself ---------------------------------------------------------


def test_parser_reads_continuations_comments_and_forms():
    text = (
        "# syntax=docker/dockerfile:1\n"
        "FROM python:3.12-slim AS base\n"
        "RUN apt-get update \\\n"
        "    # a comment inside\n"
        "    && apt-get install -y ffmpeg\n"
        "ENV A=1 B=\"two words\"\n"
        "ENV LEGACY value here\n"
        'CMD ["streamlit", "run", "app.py"]\n'
    )
    parsed = parse_dockerfile(text)
    assert [i.keyword for i in parsed] == ["FROM", "RUN", "ENV", "ENV", "CMD"]
    assert parsed[1].args == "apt-get update && apt-get install -y ffmpeg"
    assert parsed[1].line == 3
    assert env_vars(parsed) == {"A": "1", "B": "two words", "LEGACY": "value here"}
    assert exec_form(parsed[-1].args) == ["streamlit", "run", "app.py"]
    assert exec_form(parsed[1].args) is None


def test_dockerignore_matcher(tmp_path):
    ignore = tmp_path / ".dockerignore"
    ignore.write_text("# c\n.venv/\n**/__pycache__\n*.log\nlogs/\n!logs/keep.log\n")

    def ignored(path: str) -> bool:
        return dockerignored(path, ignore)

    assert ignored(".venv")
    assert ignored(".venv/bin/python")
    assert ignored("__pycache__")
    assert ignored("genre/__pycache__/x.pyc")
    assert ignored("genre/sub/__pycache__")
    assert ignored("app.log")
    assert not ignored("genre/app.log")  # `*` does not cross directories
    assert ignored("logs/a.log")
    assert not ignored("logs/keep.log")
    assert not ignored("app.py")
    assert not ignored(".venvs")
    assert not ignored("genre/app.log.py")


# --- the repository's Dockerfile -------------------------------------------------


def test_base_image_is_python_312_slim(instructions):
    froms = _only(instructions, "FROM")
    assert froms, "no FROM instruction"
    image = shlex.split(froms[-1].args)[0]  # the final stage is the image that runs
    assert image == "python:3.12-slim", f"final stage is based on {image!r}"


def test_every_copy_source_exists_in_the_repository(instructions):
    copies = _copies(instructions)
    assert copies, "the Dockerfile copies nothing from the repository"
    for ins, sources in copies:
        for source in sources:
            matches = list(ROOT.glob(source)) if source not in {".", "./"} else [ROOT]
            assert matches, f"line {ins.line}: COPY source {source!r} does not exist in the repository"
            for match in matches:
                rel = match.relative_to(ROOT).as_posix()
                if rel != ".":
                    assert not dockerignored(rel), f"line {ins.line}: {rel!r} is excluded by .dockerignore"


def test_installs_the_pinned_requirements_before_copying_the_code(instructions):
    assert (ROOT / "requirements.txt").is_file()
    copies = _copies(instructions)
    req_copy = next((i for i, (_, src) in enumerate(copies) if "requirements.txt" in src), None)
    assert req_copy is not None, "requirements.txt is not copied on its own"
    full_copy = next((i for i, (_, src) in enumerate(copies) if {".", "./"} & set(src)), None)
    assert full_copy is not None, "the code is not copied (COPY . .)"
    assert req_copy < full_copy, "copy requirements.txt before the code so the dependency layer is cached"

    req_line = copies[req_copy][0].line
    code_line = copies[full_copy][0].line
    installs = [
        ins
        for ins in _only(instructions, "RUN")
        if re.search(r"\bpip\b.*\binstall\b.*(?:-r|--requirement)[ =]?\s*(?:\./|/app/)?requirements\.txt\b", ins.args)
    ]
    assert installs, "no RUN pip install -r requirements.txt"
    assert any(req_line < ins.line < code_line for ins in installs), (
        "pip install -r requirements.txt must run between COPY requirements.txt and COPY . ."
    )
    assert all("--no-cache-dir" in ins.args for ins in installs), "use pip install --no-cache-dir"


def test_ffmpeg_from_apt_without_recommends_and_lists_cleaned(instructions):
    apt = [ins.args for ins in _only(instructions, "RUN") if "apt-get install" in ins.args]
    assert apt, "ffmpeg is not installed with apt-get"
    joined = " ".join(apt)
    assert re.search(r"\bffmpeg\b", joined)
    assert "--no-install-recommends" in joined
    assert "rm -rf /var/lib/apt/lists" in joined


def test_cmd_runs_streamlit_app_on_8501(instructions):
    cmds = _only(instructions, "CMD")
    assert cmds, "no CMD"
    argv = exec_form(cmds[-1].args)
    assert argv is not None, "CMD should use the exec (JSON) form so streamlit gets the signals"
    assert argv[:3] == ["streamlit", "run", "app.py"], argv
    assert "--server.port=8501" in argv
    assert "--server.address=0.0.0.0" in argv
    assert not _only(instructions, "ENTRYPOINT"), "an ENTRYPOINT would change what CMD runs"


def test_app_py_exists_for_the_cmd():
    # app.py is written separately; the image is useless without it, so this fails (not skips).
    assert (ROOT / "app.py").is_file(), "the Dockerfile's CMD runs app.py, which is missing"


def test_exposes_8501_with_a_health_check(instructions):
    ports = [p.split("/")[0] for ins in _only(instructions, "EXPOSE") for p in ins.args.split()]
    assert "8501" in ports
    checks = _only(instructions, "HEALTHCHECK")
    assert len(checks) == 1, "exactly one HEALTHCHECK"
    assert checks[0].args.upper() != "NONE"
    assert re.search(r"http://(?:localhost|127\.0\.0\.1):8501/_stcore/health", checks[0].args)
    assert re.search(r"\bCMD\b", checks[0].args)


def test_runs_as_a_non_root_user(instructions):
    cmd_at = max(i for i, ins in enumerate(instructions) if ins.keyword == "CMD")
    users = [ins for ins in instructions[:cmd_at] if ins.keyword == "USER"]
    assert users, "no USER before CMD: the app would run as root"
    user = users[-1].args.split(":")[0].strip()
    assert user not in {"root", "0"}, f"runs as {user!r}"


def test_caches_are_writable_and_warmed_as_the_app_user(instructions):
    env = env_vars(instructions)
    for name in ("NUMBA_CACHE_DIR", "MPLCONFIGDIR"):
        assert env.get(name, "").startswith("/"), f"{name} must be set to an absolute path"
    warm = [i for i, ins in enumerate(instructions) if ins.keyword == "RUN" and "genre warmup" in ins.args]
    assert warm, "the numba cache is not warmed at build time (RUN python -m genre warmup)"
    user_at = _index(instructions, "USER")
    assert user_at < warm[0], "warm the cache as the runtime user, or it cannot be reused/written later"


def test_gpu_variant_is_a_build_argument(instructions):
    args = {shlex.split(ins.args)[0].split("=")[0] for ins in _only(instructions, "ARG")}
    assert "TF_PACKAGE" in args
    pip = [ins.args for ins in _only(instructions, "RUN") if "pip install" in ins.args]
    assert any("TF_PACKAGE" in a for a in pip), "TF_PACKAGE is declared but not installed"


def test_dockerignore_keeps_local_state_out():
    assert DOCKERIGNORE.is_file(), ".dockerignore is missing"
    for path in (".venv", ".venv/lib/python3.12/site-packages", ".git", ".pytest_cache", "runs", "artifacts"):
        assert dockerignored(path), f".dockerignore should exclude {path}"
    # The image needs the code, the shipped model (model/) and the demo songs (assets/).
    for path in ("app.py", "genre", "genre/__main__.py", "requirements.txt", "model/genre_cnn.keras", "assets"):
        assert not dockerignored(path), f".dockerignore must not exclude {path}"
