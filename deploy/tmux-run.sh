#!/usr/bin/env bash
# Start the genre Streamlit app in a detached tmux session and wait until it is healthy.
#
#   deploy/tmux-run.sh [PORT]          # default port 8501
#
# Environment:
#   GENRE_TMUX_SESSION    tmux session name (default: genre)
#   GENRE_START_TIMEOUT   seconds to wait for /_stcore/health (default: 120)
#   GENRE_ADDRESS         the address to listen on (default: every interface, as Streamlit does;
#                         127.0.0.1 behind nginx, so the app is reached through nginx only)
#
# Idempotent: if the session already exists and the app answers on PORT, nothing
# is started and the script exits 0. Output goes to the tmux pane and is appended
# to logs/streamlit-<session>.log in the repository.
# Attach with `tmux attach -t <session>`, stop with `tmux kill-session -t <session>`.
set -euo pipefail

die() {
    printf 'tmux-run: %s\n' "$*" >&2
    exit 1
}

port="${1:-8501}"
session="${GENRE_TMUX_SESSION:-genre}"
timeout="${GENRE_START_TIMEOUT:-120}"
address="${GENRE_ADDRESS:-}"

if [[ ! "$port" =~ ^[0-9]{1,5}$ ]] || ((10#$port < 1 || 10#$port > 65535)); then
    die "invalid port: '$port'"
fi
port="$((10#$port))"
[[ "$session" =~ ^[A-Za-z0-9_-]+$ ]] || die "invalid session name: '$session' (use letters, digits, _ and -)"
[[ "$timeout" =~ ^[0-9]+$ ]] || die "invalid GENRE_START_TIMEOUT: '$timeout'"
[[ -z "$address" || "$address" =~ ^[0-9A-Za-z.:-]+$ ]] || die "invalid GENRE_ADDRESS: '$address' (an IP address or a host name)"
command -v tmux >/dev/null 2>&1 || die "tmux is not installed (sudo apt install tmux)"

repo="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
host="localhost"  # the app as this machine reaches it: where it listens, if only on one address
if [[ -n "$address" && "$address" != "0.0.0.0" && "$address" != "::" ]]; then
    host="$address"
    [[ "$host" == *:* ]] && host="[${host}]"  # an IPv6 address in a URL
fi
health_url="http://${host}:${port}/_stcore/health"
log_dir="${repo}/logs"
log_file="${log_dir}/streamlit-${session}.log"
streamlit="${repo}/.venv/bin/streamlit"

healthy() {
    local body
    if command -v curl >/dev/null 2>&1; then
        body="$(curl -fsS --max-time 3 "$health_url" 2>/dev/null)" || return 1
    else
        body="$(python3 - "$health_url" 2>/dev/null <<'PY'
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=3) as response:
    print(response.read().decode().strip())
PY
)" || return 1
    fi
    [[ "$body" == "ok" ]]
}

has_session() {
    tmux has-session -t "=${session}" 2>/dev/null
}

show_log_tail() {
    if [[ -s "$log_file" ]]; then
        printf -- '--- last lines of %s ---\n' "$log_file" >&2
        tail -n 30 -- "$log_file" >&2
    fi
}

wait_healthy() {
    local deadline=$((SECONDS + timeout))
    while ((SECONDS < deadline)); do
        if healthy; then
            return 0
        fi
        if ! has_session; then
            show_log_tail
            die "the app exited before it became healthy (session '${session}' is gone); see ${log_file}"
        fi
        sleep 1
    done
    show_log_tail
    die "no healthy answer from ${health_url} after ${timeout}s; session '${session}' is still there: inspect with 'tmux attach -t ${session}', stop with 'tmux kill-session -t ${session}'"
}

if has_session; then
    running_port="$(tmux show-environment -t "=${session}" GENRE_PORT 2>/dev/null | sed -n 's/^GENRE_PORT=//p')" || true
    if [[ -n "$running_port" && "$running_port" != "$port" ]]; then
        die "session '${session}' already runs the app on port ${running_port}, not ${port}; stop it first with 'tmux kill-session -t ${session}'"
    fi
    # the address it listens on: never report an app on every interface as one on 127.0.0.1
    if [[ -n "$running_port" ]]; then
        recorded="$(tmux show-environment -t "=${session}" GENRE_ADDRESS 2>/dev/null)" \
            || die "session '${session}' was started by an older tmux-run.sh, which did not record its address; stop it first with 'tmux kill-session -t ${session}'"
        running_address="${recorded#GENRE_ADDRESS=}"
        [[ "$running_address" == "0.0.0.0" ]] && running_address=""  # every address, as no address
        wanted="$address"
        [[ "$wanted" == "0.0.0.0" ]] && wanted=""
        if [[ "$running_address" != "$wanted" ]]; then
            die "session '${session}' already runs the app on ${running_address:-every address}, not ${wanted:-every address}; stop it first with 'tmux kill-session -t ${session}'"
        fi
    fi
    if healthy; then
        echo "tmux-run: already running in tmux session '${session}': http://${host}:${port}"
        exit 0
    fi
    echo "tmux-run: session '${session}' exists; waiting for ${health_url} ..."
    wait_healthy
    echo "tmux-run: app is up in tmux session '${session}': http://${host}:${port}"
    exit 0
fi

if healthy; then
    die "something that is not tmux session '${session}' already serves port ${port}; choose another port"
fi

[[ -f "${repo}/app.py" ]] || die "${repo}/app.py not found"

# A first run creates .venv; after `git pull` a changed requirements.txt reinstalls into it
# (make -q says whether .venv/bin/activate is older than requirements.txt).
if command -v make >/dev/null 2>&1; then
    if ! make -q -C "$repo" .venv/bin/activate 2>/dev/null; then
        if [[ -x "$streamlit" ]]; then
            echo "tmux-run: requirements.txt changed; updating ${repo}/.venv ..."
        else
            echo "tmux-run: creating ${repo}/.venv (first run; this takes a few minutes) ..."
        fi
        make -C "$repo" .venv/bin/activate
    fi
elif [[ ! -x "$streamlit" ]]; then
    die "${repo}/.venv is missing and make is not installed (sudo apt install make python3-venv)"
fi
[[ -x "$streamlit" ]] || die "make did not produce ${streamlit}"

mkdir -p -- "$log_dir"
printf '=== %s tmux-run: starting on %s port %s ===\n' "$(date '+%Y-%m-%d %H:%M:%S')" "${address:-every address,}" "$port" >>"$log_file"

# The command runs via `bash -c` with positional arguments, so no path needs
# re-quoting; tee keeps the output visible in the pane and in the log file. The address
# travels as an argument, not in the environment: a tmux server already running keeps
# the environment it started with.
# shellcheck disable=SC2016  # expanded by the inner bash, not here
tmux new-session -d -s "$session" -c "$repo" -e "GENRE_PORT=${port}" -e "GENRE_ADDRESS=${address}" \
    bash -c 'set -o pipefail; "$1" run app.py --server.port "$2" --server.headless true ${4:+--server.address "$4"} 2>&1 | tee -a "$3"' \
    tmux-run "$streamlit" "$port" "$log_file" "$address"

echo "tmux-run: started tmux session '${session}'; waiting for ${health_url} (up to ${timeout}s) ..."
wait_healthy
echo "tmux-run: app is up: http://${host}:${port}  (attach: tmux attach -t ${session}; log: ${log_file})"
