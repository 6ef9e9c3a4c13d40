#!/usr/bin/env bash
# Load test: the example site under gunicorn (4 workers) on a throwaway PostgreSQL cluster and
# a throwaway redis-server, all on 127.0.0.1, then a bounded load generator:
#   1. the bare site's password logins (the reference), then full password + TOTP logins for
#      many users at once: flows/s, p50/p95/p99, errors;
#   2. a brute force on ONE user from many concurrent clients (each its own IP) through all
#      four workers, with the lockout's default waits, then with the waits off so that the
#      burst can only stop at MFA_LOCKOUT_THRESHOLD; the server's own count is printed after.
# Everything it starts (gunicorn, redis-server, PostgreSQL) it stops on exit, whatever happens.
#
# Needs PostgreSQL (initdb/pg_ctl under /usr/lib/postgresql) and redis-server: as root it
# installs `redis-server` with apt-get if missing. Bounded: LOAD_FLOWS flows or LOAD_SECONDS
# seconds for the logins, BRUTE_SECONDS per brute-force run.
#
#   bench/load/run.sh                      # defaults below
#   LOAD_FLOWS=500 LOAD_SECONDS=20 bench/load/run.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

PY=${PY:-.venv/bin/python}
WORKERS=${WORKERS:-4}
LOAD_USERS=${LOAD_USERS:-3000}
LOAD_FLOWS=${LOAD_FLOWS:-2000}
LOAD_SECONDS=${LOAD_SECONDS:-60}
LOAD_CONCURRENCY=${LOAD_CONCURRENCY:-16}
BRUTE_CLIENTS=${BRUTE_CLIENTS:-40}
BRUTE_SECONDS=${BRUTE_SECONDS:-20}
export BENCH_HASHER=${BENCH_HASHER:-md5}

TMP=""
PG_BIN=""
PG_STARTED=0
REDIS_PID=""
GUNICORN_PID=""

section() { printf '\n==================== %s ====================\n' "$*"; }

as_postgres() {
    if ((EUID == 0)); then runuser -u postgres -- "$@"; else "$@"; fi
}

stop_gunicorn() {
    if [[ -n $GUNICORN_PID ]] && kill -0 "$GUNICORN_PID" 2>/dev/null; then
        kill -TERM "$GUNICORN_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$GUNICORN_PID" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$GUNICORN_PID" 2>/dev/null || true
        wait "$GUNICORN_PID" 2>/dev/null || true
    fi
    GUNICORN_PID=""
}

# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
    local rc=$?
    section "Stopping what this script started"
    stop_gunicorn
    if [[ -n $REDIS_PID ]] && kill -0 "$REDIS_PID" 2>/dev/null; then
        kill -TERM "$REDIS_PID" 2>/dev/null || true
        wait "$REDIS_PID" 2>/dev/null || true
        echo "redis-server stopped"
    fi
    if ((PG_STARTED)); then
        as_postgres "$PG_BIN/pg_ctl" -D "$TMP/pg" -m fast -w stop >/dev/null 2>&1 || true
        echo "PostgreSQL stopped"
    fi
    if [[ -n $TMP ]]; then
        if ((rc != 0)); then
            for log in "$TMP"/gunicorn-*.log "$TMP/pglog/server.log"; do
                [[ -f $log ]] && { echo "--- $log (last 30 lines)"; tail -n 30 "$log"; }
            done
        fi
        if [[ -n ${KEEP_LOGS:-} ]]; then
            echo "logs kept in $TMP"
        else
            rm -rf "$TMP"
        fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    "$PY" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

wait_for_http() {  # wait_for_http PORT: until the login page answers (30 s at most)
    for _ in $(seq 150); do
        if "$PY" -c "import http.client, sys
c = http.client.HTTPConnection('127.0.0.1', $1, timeout=2)
c.request('GET', '/accounts/login/')
sys.exit(0 if c.getresponse().status == 200 else 1)" 2>/dev/null; then
            return 0
        fi
        sleep 0.2
    done
    echo "gunicorn did not answer on port $1" >&2
    return 1
}

start_gunicorn() {  # start_gunicorn NAME [VAR=VALUE...]: the site with extra environment
    local name=$1
    shift
    GUNICORN_PORT=$(free_port)
    ACCESS_LOG=$TMP/access-$name.log
    env DJANGO_SETTINGS_MODULE=bench.load.settings "$@" .venv/bin/gunicorn \
        example_project.wsgi:application \
        --workers "$WORKERS" --bind "127.0.0.1:$GUNICORN_PORT" --backlog 2048 --timeout 60 \
        --access-logfile "$ACCESS_LOG" --access-logformat '%(p)s "%(r)s" %(s)s %(M)s' --no-control-socket \
        --error-logfile "$TMP/gunicorn-$name.log" &
    GUNICORN_PID=$!
    wait_for_http "$GUNICORN_PORT"
    echo "gunicorn ($WORKERS workers, pid $GUNICORN_PID) on 127.0.0.1:$GUNICORN_PORT $*"
}

# --- prerequisites ----------------------------------------------------------------------------

section "Prerequisites"
PG_BIN=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null |
    sort -V | tail -n 1) || true
if [[ -z $PG_BIN || ! -x $PG_BIN/initdb ]]; then
    echo "PostgreSQL's initdb/pg_ctl are not under /usr/lib/postgresql: apt-get install postgresql" >&2
    exit 1
fi
if ! command -v redis-server >/dev/null; then
    if ((EUID == 0)); then
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -q --no-install-recommends redis-server ||
            { apt-get update -q && apt-get install -y -q --no-install-recommends redis-server; }
    else
        echo "redis-server is not installed (apt-get install redis-server)" >&2
        exit 1
    fi
fi
"$PY" -c 'import gunicorn, redis, psycopg' 2>/dev/null ||
    "$PY" -m pip install --quiet -e ".[bench]"
echo "PostgreSQL: $("$PG_BIN/postgres" --version); $(redis-server --version | cut -d' ' -f1-3)"
echo "gunicorn $(.venv/bin/gunicorn --version 2>&1 | awk '{print $NF}' | tr -d '()'), "\
"$WORKERS workers; hasher $BENCH_HASHER; $(nproc) cores"

TMP=$(mktemp -d /tmp/mfa-load.XXXXXX)
chmod 755 "$TMP"

section "PostgreSQL (throwaway cluster) and redis-server"
mkdir "$TMP/pg" "$TMP/pglog"
if ((EUID == 0)); then chown postgres: "$TMP/pg" "$TMP/pglog"; fi
as_postgres "$PG_BIN/initdb" -D "$TMP/pg" -U postgres --no-locale --encoding=UTF8 \
    --auth-local=trust --auth-host=trust >"$TMP/initdb.log"
PG_PORT=$(free_port)
# Durability off (a throwaway server): commits do not wait for this machine's disk.
# (One line: pg_ctl hands the options to a shell, where a newline would end the command.)
PG_OPTIONS="-c listen_addresses=127.0.0.1 -p $PG_PORT -k $TMP/pg -c max_connections=100"
PG_OPTIONS+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
as_postgres "$PG_BIN/pg_ctl" -D "$TMP/pg" -l "$TMP/pglog/server.log" -w -t 60 \
    -o "$PG_OPTIONS" start >/dev/null
PG_STARTED=1
as_postgres "$PG_BIN/psql" -h "$TMP/pg" -p "$PG_PORT" -U postgres -d postgres -q -v ON_ERROR_STOP=1 \
    -c "CREATE DATABASE mfa_load"
export PGHOST=127.0.0.1 PGPORT=$PG_PORT PGUSER=postgres PGPASSWORD="" PGDATABASE=mfa_load
echo "PostgreSQL on 127.0.0.1:$PG_PORT: fsync $("$PG_BIN/psql" -XAtq -c 'SHOW fsync'),"\
" synchronous_commit $("$PG_BIN/psql" -XAtq -c 'SHOW synchronous_commit')"

REDIS_PORT=$(free_port)
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir "$TMP" --logfile "$TMP/redis.log" &
REDIS_PID=$!
export REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
for _ in $(seq 50); do
    "$PY" -c "import redis; redis.Redis.from_url('$REDIS_URL').ping()" 2>/dev/null && break
    sleep 0.1
done
echo "redis-server (pid $REDIS_PID) on 127.0.0.1:$REDIS_PORT (no persistence)"

section "Schema and $LOAD_USERS users with a TOTP factor"
export DJANGO_SETTINGS_MODULE=bench.load.settings
"$PY" manage.py migrate --noinput -v 0
"$PY" -m bench.load.seed users --count "$LOAD_USERS" --brute 2 --out "$TMP/users.json"

# --- 1. logins ---------------------------------------------------------------------------------

rc=0
section "1a. The bare site's password login (same users, same bounds): the reference"
start_gunicorn bare DJANGO_SETTINGS_MODULE=bench.load.bare_settings
"$PY" bench/load/loadgen.py login --bare --users "$TMP/users.json" --port "$GUNICORN_PORT" \
    --concurrency "$LOAD_CONCURRENCY" --flows "$LOAD_FLOWS" --seconds "$LOAD_SECONDS" || rc=$?
"$PY" bench/load/loadgen.py accesslog "$ACCESS_LOG"
stop_gunicorn

section "1b. Full logins (password + TOTP), $LOAD_CONCURRENCY at once"
start_gunicorn logins
"$PY" bench/load/loadgen.py login --users "$TMP/users.json" --port "$GUNICORN_PORT" \
    --concurrency "$LOAD_CONCURRENCY" --flows "$LOAD_FLOWS" --seconds "$LOAD_SECONDS" || rc=$?
"$PY" bench/load/loadgen.py accesslog "$ACCESS_LOG"
stop_gunicorn

# --- 2. brute force ------------------------------------------------------------------------------

section "2a. Brute force on one user, the lockout's default waits"
start_gunicorn brute-default
"$PY" bench/load/loadgen.py brute --users "$TMP/users.json" --port "$GUNICORN_PORT" \
    --target 0 --clients "$BRUTE_CLIENTS" --seconds "$BRUTE_SECONDS"
"$PY" bench/load/loadgen.py accesslog "$ACCESS_LOG" --path /mfa/challenge/
echo "  what the server recorded:"
"$PY" -m bench.load.seed state --username bf0
stop_gunicorn

section "2b. Brute force on another user, waits off: only the threshold can stop it"
start_gunicorn brute-threshold MFA_LOCKOUT_BASE_DELAY=0
"$PY" bench/load/loadgen.py brute --users "$TMP/users.json" --port "$GUNICORN_PORT" \
    --target 1 --clients "$BRUTE_CLIENTS" --seconds "$BRUTE_SECONDS"
"$PY" bench/load/loadgen.py accesslog "$ACCESS_LOG" --path /mfa/challenge/
echo "  what the server recorded:"
env MFA_LOCKOUT_BASE_DELAY=0 "$PY" -m bench.load.seed state --username bf1
stop_gunicorn

exit "$rc"
