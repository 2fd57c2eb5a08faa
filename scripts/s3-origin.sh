#!/usr/bin/env bash
# A real, SigV4-checking S3 server on loopback for the end-to-end tests:
# single-node OpenStack Swift with the s3api middleware, from Debian packages
# (swift swift-proxy swift-account swift-container swift-object memcached).
#
#   scripts/s3-origin.sh start    # write config/rings/data under the state dir, start, wait until ready
#   scripts/s3-origin.sh stop     # stop only the processes this script started (pid files)
#   scripts/s3-origin.sh status   # exit 0 when everything runs and answers, 3 otherwise
#   scripts/s3-origin.sh env      # S3_ENDPOINT=… lines for the tests / scripts/s3-client.mjs
#
# Environment:
#   S3_ORIGIN_DIR          state dir (config, rings, data, logs, pids); default <repo>/.tmp/s3-origin
#   S3_ORIGIN_PORT         S3 (proxy) port, default 8333. The backends use the next four ports:
#                          PORT+1 memcached, PORT+2 account, PORT+3 container, PORT+4 object.
#   S3_ORIGIN_DEVICES_DIR  where object data lives, default $S3_ORIGIN_DIR/devices. Must support user
#                          xattrs (Swift keeps object metadata in them); point it elsewhere if not.
#   S3_ORIGIN_START_TIMEOUT seconds to wait for readiness, default 60.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_DIR="$(realpath -m "${S3_ORIGIN_DIR:-$REPO_ROOT/.tmp/s3-origin}")"
PORT="${S3_ORIGIN_PORT:-8333}"
MEMCACHED_PORT=$((PORT + 1))
ACCOUNT_PORT=$((PORT + 2))
CONTAINER_PORT=$((PORT + 3))
OBJECT_PORT=$((PORT + 4))
DEVICES_DIR="$(realpath -m "${S3_ORIGIN_DEVICES_DIR:-$STATE_DIR/devices}")"
START_TIMEOUT="${S3_ORIGIN_START_TIMEOUT:-60}"

CONF_DIR="$STATE_DIR/etc"   # Swift's swift_dir: the *.conf files and the rings
RUN_DIR="$STATE_DIR/run"    # pid files
LOG_DIR="$STATE_DIR/log"
# Swift's servers are Python scripts with a /usr/bin/python3 shebang; call that interpreter
# explicitly for our own checks so a pyenv/venv python3 first on PATH does not matter.
SYS_PYTHON=/usr/bin/python3

# memcached first (without it every S3 request hangs ~25 s, then fails with 500), then the
# storage servers and the proxy. stop goes in reverse.
SERVICES=(memcached account container object proxy)

die() { echo "s3-origin: $*" >&2; exit 1; }
log() { echo "s3-origin: $*" >&2; }

print_env() {
  echo "S3_ENDPOINT=http://127.0.0.1:$PORT"
  echo "S3_ACCESS_KEY_ID=test:tester"
  echo "S3_SECRET_ACCESS_KEY=testing"
  echo "S3_REGION=us-east-1"
}

service_port() {
  case "$1" in
    memcached) echo "$MEMCACHED_PORT" ;;
    account) echo "$ACCOUNT_PORT" ;;
    container) echo "$CONTAINER_PORT" ;;
    object) echo "$OBJECT_PORT" ;;
    proxy) echo "$PORT" ;;
  esac
}

# The pid in a pid file only counts if that process is still ours: its command line must mention
# our state dir (every command we start has a path under it). This guards against pid reuse and
# against ever signalling a process that some other instance or the system started.
running_pid() {
  local pidfile="$RUN_DIR/$1.pid" pid
  [[ -f "$pidfile" ]] || return 1
  pid="$(cat "$pidfile" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$STATE_DIR" || return 1
  echo "$pid"
}

# Alive and not a zombie: our servers are re-parented to whatever reaps orphans here (init, or a
# container runtime that may reap only every few seconds), and `kill -0` succeeds on a zombie.
alive() {
  local state
  state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" || return 1
  [[ -n "$state" && "$state" != Z ]]
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

healthy() {
  local svc="$1" port
  port="$(service_port "$svc")"
  if [[ "$svc" == memcached ]]; then
    port_open "$port"
  else
    [[ "$(curl -s -m 2 "http://127.0.0.1:$port/healthcheck" 2>/dev/null || true)" == OK ]]
  fi
}

all_running() {
  local svc
  for svc in "${SERVICES[@]}"; do
    running_pid "$svc" >/dev/null || return 1
  done
}

any_running() {
  local svc
  for svc in "${SERVICES[@]}"; do
    running_pid "$svc" >/dev/null && return 0
  done
  return 1
}

check_prereqs() {
  local bin
  for bin in memcached swift-account-server swift-container-server \
    swift-object-server swift-proxy-server curl; do
    command -v "$bin" >/dev/null || die "$bin not found." \
      "Install: DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends" \
      "swift swift-proxy swift-account swift-container swift-object memcached"
  done
  "$SYS_PYTHON" -c 'import swift.common.ring' 2>/dev/null ||
    die "$SYS_PYTHON cannot import swift (package python3-swift)"
  # swift.common.utils hard-codes SWIFT_CONF_FILE=/etc/swift/swift.conf (the servers ignore
  # swift_dir for it), so the package's default file (hash prefix/suffix, storage policy 0) is
  # what every server reads. We only read it; it needs no change for a test node.
  grep -q '^swift_hash_path_\(suffix\|prefix\)' /etc/swift/swift.conf 2>/dev/null ||
    die "/etc/swift/swift.conf is missing or has no swift_hash_path_suffix/prefix" \
      "(it ships with the 'swift' package; reinstall it)"
}

# Swift stores each object's metadata (content type, etag, user metadata) in user.* xattrs
# of the data file and refuses to work without them. ext4/xfs/btrfs have them; tmpfs only since
# Linux 6.6; some overlay/network filesystems do not. Check with the same interpreter and the
# same kind of value Swift writes (a ~1 KB user.swift.metadata attribute).
check_xattr() {
  local probe="$DEVICES_DIR/.xattr-probe"
  mkdir -p "$DEVICES_DIR"
  : >"$probe"
  local py='import os, sys; os.setxattr(sys.argv[1], "user.swift.metadata", b"x" * 1024); '
  py+='assert os.getxattr(sys.argv[1], "user.swift.metadata") == b"x" * 1024'
  if ! "$SYS_PYTHON" -c "$py" "$probe" 2>"$LOG_DIR/xattr-probe.err"; then
    rm -f "$probe"
    die "the filesystem under $DEVICES_DIR does not support user xattrs, which Swift needs" \
      "($(tail -1 "$LOG_DIR/xattr-probe.err")). Set S3_ORIGIN_DEVICES_DIR to a directory on ext4/xfs/btrfs" \
      "(or tmpfs on Linux >= 6.6, e.g. /dev/shm/s3-origin)."
  fi
  rm -f "$probe" "$LOG_DIR/xattr-probe.err"
}

write_config() {
  local user
  user="$(id -un)"
  mkdir -p "$CONF_DIR" "$RUN_DIR" "$LOG_DIR" "$DEVICES_DIR/d1"

  # Settings shared by the three storage servers. Why:
  #  - bind_ip 127.0.0.1: loopback only.
  #  - workers = 0: serve in the one process we start, so its pid file is the whole server
  #    (workers >= 1 forks children that a pid-file stop would orphan).
  #  - user = whoever runs this: Swift drops privileges to `user` (default "swift"); running as
  #    root or as a normal user then both work and the data dir stays owned by the caller.
  #  - mount_check = false: Swift normally refuses devices that are not mount points;
  #    our "device" is a plain directory.
  #  - swift_dir: read rings (and memcache.conf) from the state dir, not /etc/swift.
  #  - logs: Swift only logs to syslog (/dev/log, else UDP 127.0.0.1:514); we start each server
  #    with -v, which adds a console handler, and redirect that into $LOG_DIR.
  #  - disable_fallocate = true: some filesystems (overlay, older tmpfs, ZFS) reject fallocate,
  #    and the default fallocate_reserve would return 507 on a nearly full CI disk.
  local common
  common="bind_ip = 127.0.0.1
workers = 0
user = $user
swift_dir = $CONF_DIR
devices = $DEVICES_DIR
mount_check = false
disable_fallocate = true
log_level = INFO"

  # The account, container and object servers differ only in name and port.
  local server port
  for server in account container object; do
    case $server in
      account) port=$ACCOUNT_PORT ;;
      container) port=$CONTAINER_PORT ;;
      object) port=$OBJECT_PORT ;;
    esac
    cat >"$CONF_DIR/$server-server.conf" <<EOF
[DEFAULT]
bind_port = $port
$common

[pipeline:main]
pipeline = healthcheck $server-server

[app:$server-server]
use = egg:swift#$server

[filter:healthcheck]
use = egg:swift#healthcheck
EOF
  done

  # Proxy pipeline: s3api must sit before tempauth (it turns the S3 signature into a tempauth
  # check; auth_pipeline_check enforces that order); cache (memcache) must precede both
  # because tempauth keeps tokens there. copy/slo/dlo give S3 copy and multipart uploads;
  # versioned_writes is listed because s3api requires it (the proxy would insert it and warn).
  cat >"$CONF_DIR/proxy-server.conf" <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $PORT
workers = 0
user = $user
swift_dir = $CONF_DIR
log_level = INFO

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo
  versioned_writes proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
# The tempauth account AUTH_test does not exist on a fresh node: create it on first use,
# or the first S3 CreateBucket fails.
account_autocreate = true
allow_account_management = true

[filter:s3api]
use = egg:swift#s3api
# The region clients sign with (SigV4 credential scope); us-east-1 like cache.nixos.org's bucket.
location = us-east-1

[filter:tempauth]
use = egg:swift#tempauth
# S3 access key "test:tester" (account:user), secret "testing"; .admin = owns account AUTH_test.
user_test_tester = testing .admin

[filter:cache]
use = egg:swift#memcache
# Our private memcached, not a system one on 11211.
memcache_servers = 127.0.0.1:$MEMCACHED_PORT

[filter:healthcheck]
use = egg:swift#healthcheck

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:gatekeeper]
use = egg:swift#gatekeeper

[filter:proxy-logging]
use = egg:swift#proxy_logging

[filter:listing_formats]
use = egg:swift#listing_formats

[filter:copy]
use = egg:swift#copy

[filter:slo]
use = egg:swift#slo

[filter:dlo]
use = egg:swift#dlo

[filter:versioned_writes]
use = egg:swift#versioned_writes
EOF
  # The memcache middleware also looks for memcache.conf in swift_dir; keep it consistent.
  cat >"$CONF_DIR/memcache.conf" <<EOF
[memcache]
memcache_servers = 127.0.0.1:$MEMCACHED_PORT
EOF
}

# One ring per server type, 2^4 partitions, 1 replica, one device. Rebuilt only when the ports
# change (the ring records each device's ip:port); the partition of an object depends only on
# its path hash and the partition power, so existing data stays reachable after a rebuild.
build_rings() {
  local stamp="$CONF_DIR/rings.stamp" want="$ACCOUNT_PORT $CONTAINER_PORT $OBJECT_PORT"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -f "$CONF_DIR/object.ring.gz" &&
        -f "$CONF_DIR/container.ring.gz" && -f "$CONF_DIR/account.ring.gz" ]]; then
    return 0
  fi
  # One Python process with Swift's RingBuilder instead of 9 swift-ring-builder runs (create,
  # add, rebalance x 3): saves ~5 s of interpreter start-up on every fresh start.
  "$SYS_PYTHON" - "$CONF_DIR" "$ACCOUNT_PORT" "$CONTAINER_PORT" "$OBJECT_PORT" >>"$LOG_DIR/rings.log" 2>&1 <<'PY' || {
import os, sys
from swift.common.ring import RingBuilder
conf_dir = sys.argv[1]
for kind, port in zip(("account", "container", "object"), sys.argv[2:5]):
    b = RingBuilder(4, 1, 1)  # 2^4 partitions, 1 replica, min_part_hours 1
    b.add_dev({"id": 0, "region": 1, "zone": 1, "ip": "127.0.0.1", "port": int(port),
               "device": "d1", "weight": 1.0, "meta": ""})
    b.rebalance()
    b.save(os.path.join(conf_dir, kind + ".builder"))
    b.get_ring().save(os.path.join(conf_dir, kind + ".ring.gz"))
    print("built", kind, "ring for 127.0.0.1:%s/d1" % port)
PY
    tail -20 "$LOG_DIR/rings.log" >&2
    die "building the Swift rings failed (see $LOG_DIR/rings.log)"
  }
  echo "$want" >"$stamp"
}

launch() {
  local svc="$1" logfile="$LOG_DIR/$1.log"
  local -a cmd
  case "$svc" in
    # -U 0: no UDP listener; -u: memcached refuses to run as root without naming a user;
    # -P puts the state dir in its command line, which running_pid() uses to recognise it.
    memcached)
      cmd=(memcached -l 127.0.0.1 -p "$MEMCACHED_PORT" -U 0 -m 64 -u "$(id -un)" -P "$RUN_DIR/memcached.mc.pid") ;;
    # -v: log to the console (our log file) as well; Swift has no file logging of its own.
    *) cmd=("swift-$svc-server" "$CONF_DIR/$svc-server.conf" -v) ;;
  esac
  echo "=== $(date -u +%FT%TZ) starting: ${cmd[*]}" >>"$logfile"
  # setsid: own session, so the servers outlive the shell/job that ran `start` (a test runner
  # killing its process group must not take the S3 server down mid-suite). In a script, a
  # background child is not a group leader, so setsid execs in place and $! is the server.
  # 9>&-: do not pass on the state-dir lock (see with_lock), or the servers would hold it forever.
  setsid "${cmd[@]}" >>"$logfile" 2>&1 </dev/null 9>&- &
  echo $! >"$RUN_DIR/$svc.pid"
}

wait_ready() {
  local deadline=$((SECONDS + START_TIMEOUT)) svc pending
  while :; do
    pending=""
    for svc in "$@"; do
      running_pid "$svc" >/dev/null || {
        log "$svc exited during startup"
        dump_logs
        do_stop >/dev/null 2>&1 || true
        exit 1
      }
      healthy "$svc" || pending+=" $svc"
    done
    [[ -z "$pending" ]] && return 0
    if ((SECONDS >= deadline)); then
      log "not ready after ${START_TIMEOUT}s:$pending"
      dump_logs
      do_stop >/dev/null 2>&1 || true
      exit 1
    fi
    sleep 0.2
  done
}

dump_logs() {
  local f
  for f in "$LOG_DIR"/*.log; do
    [[ -f "$f" ]] || continue
    echo "----- tail of $f" >&2
    tail -n 25 "$f" >&2
  done
}

do_start() {
  if all_running; then
    local svc ok=1
    for svc in "${SERVICES[@]}"; do healthy "$svc" || ok=0; done
    if ((ok)); then
      log "already running on http://127.0.0.1:$PORT (state: $STATE_DIR)"
      return 0
    fi
  fi
  # Half-started leftovers (a crash, a killed start): clear them and start cleanly.
  any_running && do_stop
  check_prereqs
  mkdir -p "$STATE_DIR" "$LOG_DIR" "$RUN_DIR"
  local p
  for p in "$PORT" "$MEMCACHED_PORT" "$ACCOUNT_PORT" "$CONTAINER_PORT" "$OBJECT_PORT"; do
    port_open "$p" &&
      die "port $p on 127.0.0.1 is already in use by something else; set S3_ORIGIN_PORT (uses PORT..PORT+4)"
  done
  check_xattr
  write_config
  build_rings
  launch memcached
  wait_ready memcached
  # The proxy does not talk to the storage servers until a request comes, so all four Python
  # servers start in parallel (each spends ~2 s importing); "ready" = all four healthchecks.
  launch account
  launch container
  launch object
  launch proxy
  wait_ready account container object proxy
  log "ready on http://127.0.0.1:$PORT in ${SECONDS}s (state: $STATE_DIR)"
}

do_stop() {
  local svc pid i stopped=0
  # Reverse order: proxy first, memcached last.
  for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
    svc="${SERVICES[$i]}"
    if pid="$(running_pid "$svc")"; then
      kill -TERM "$pid" 2>/dev/null || true
      local n=0
      while alive "$pid" && ((n < 100)); do sleep 0.05; n=$((n + 1)); done
      if alive "$pid"; then
        log "$svc ($pid) ignored SIGTERM for 5s, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
      fi
      stopped=$((stopped + 1))
    fi
    rm -f "$RUN_DIR/$svc.pid"
  done
  rm -f "$RUN_DIR/memcached.mc.pid"
  log "stopped ($stopped processes)"
}

do_status() {
  local svc pid rc=0
  for svc in "${SERVICES[@]}"; do
    if pid="$(running_pid "$svc")"; then
      if healthy "$svc"; then
        echo "$svc: running (pid $pid, port $(service_port "$svc"))"
      else
        echo "$svc: running but not answering (pid $pid, port $(service_port "$svc"))"
        rc=3
      fi
    else
      echo "$svc: stopped"
      rc=3
    fi
  done
  echo "state: $STATE_DIR"
  return "$rc"
}

# start/stop hold a lock on the state dir, so two test runners starting at once do not both
# launch servers (the second waits, then finds them running).
with_lock() {
  mkdir -p "$STATE_DIR"
  exec 9>"$STATE_DIR/.lock"
  flock -w 120 9 || die "could not lock $STATE_DIR/.lock within 120 s"
  "$@"
}

case "${1:-}" in
  start) with_lock do_start ;;
  stop) with_lock do_stop ;;
  status) do_status ;;
  env) print_env ;;
  *)
    echo "usage: $0 start|stop|status|env" >&2
    exit 2
    ;;
esac
