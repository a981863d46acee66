#!/usr/bin/env bash
# Stops the smtp-doctor test bed that up.sh started in STATE_DIR (dnsmasq,
# Dovecot, Postfix and Exim).
#
#   tests/testbed/down.sh STATE_DIR
#
# Every daemon is stopped through the PID it recorded in STATE_DIR (or its
# own stop command), never by process name. Safe to run any number of times:
# exits 0 when nothing is running.
set -euo pipefail

if (($# != 1)); then
  echo "usage: $0 STATE_DIR" >&2
  exit 2
fi
state=$1
if [[ "$state" != /* ]]; then
  state="$PWD/$state"
fi

if [[ ! -d "$state" ]]; then
  echo "testbed down: $state does not exist, nothing to stop"
  exit 0
fi

# Prints the number stored in a PID file, or nothing.
pid_in() {
  local pid
  [[ -r "$1" ]] || return 0
  pid=$(tr -d ' \t\n' <"$1")
  if [[ "$pid" =~ ^[0-9]+$ ]]; then
    echo "$pid"
  fi
}

# Is PID running? A zombie is not: it has exited and only waits for its
# parent (here often PID 1, which may reap it late) to collect it.
running() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ "${stat%% *}" != Z ]]
}

# Waits until PID is gone, at most SECONDS seconds; returns 1 on timeout.
wait_gone() {
  local pid=$1 ticks=$(($2 * 20))
  while ((ticks > 0)); do
    running "$pid" || return 0
    sleep 0.05
    ticks=$((ticks - 1))
  done
  ! running "$pid"
}

# PIDs whose session id is SID (the daemon's children after it detached).
session_members() {
  local sid=$1
  ps -e -o pid=,sid=,stat= | awk -v sid="$sid" '$2 == sid && $3 !~ /^Z/ { print $1 }'
}

# Is PID the leader of its own session (so its session holds only its own
# children and never this shell)?
own_session() {
  local pid=$1 sid
  sid=$(ps -o sid= -p "$pid" 2>/dev/null | tr -d ' ') || return 1
  [[ "$sid" == "$pid" && "$sid" != "$(ps -o sid= -p $$ | tr -d ' ')" ]]
}

# Ends what is left in the session SID: TERM, a short grace, then KILL.
sweep_session() {
  local sid=$1 pids
  pids=$(session_members "$sid")
  [[ -n "$pids" ]] || return 0
  # shellcheck disable=SC2086 # one PID per word on purpose
  kill -TERM $pids 2>/dev/null || true
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    pids=$(session_members "$sid")
    [[ -n "$pids" ]] || return 0
    sleep 0.1
  done
  # shellcheck disable=SC2086
  kill -KILL $pids 2>/dev/null || true
}

# stop_one LABEL PIDFILE COMM [STOP_COMMAND...]
# Stops the daemon whose PID is in PIDFILE if that process is alive and is
# still COMM (the PID was not reused): STOP_COMMAND or TERM, a wait, KILL as a
# last resort, then whatever it left behind in its session. A daemon that died
# on its own may leave children in its session; they are ended too. Returns 1
# when there was nothing to stop.
stop_one() {
  local label=$1 file=$2 comm=$3 pid sid="" actual
  shift 3
  pid=$(pid_in "$file")
  [[ -n "$pid" ]] || return 1

  if ! running "$pid"; then
    # Gone or a zombie: no live process holds this PID, so a session with
    # this id can only be the daemon's own orphaned children.
    if [[ -n "$(session_members "$pid")" ]]; then
      sweep_session "$pid"
      echo "testbed down: ended leftover $label processes (session $pid)"
      return 0
    fi
    return 1
  fi
  actual=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
  if [[ "$actual" != "$comm" ]]; then
    return 1
  fi

  if own_session "$pid"; then
    sid=$pid
  fi
  if (($# > 0)); then
    "$@" >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
  elif [[ -n "$sid" ]]; then
    # TERM to the daemon and its children together: Dovecot's master waits
    # about a second for its children otherwise, then leaves them behind.
    # shellcheck disable=SC2046 # one PID per word on purpose
    kill -TERM $(session_members "$sid") 2>/dev/null || true
  else
    kill -TERM "$pid" 2>/dev/null || true
  fi
  if ! wait_gone "$pid" 10; then
    echo "testbed down: $label (pid $pid) ignored TERM, killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 5 || true
  fi
  if [[ -n "$sid" ]]; then
    sweep_session "$sid"
  fi
  echo "testbed down: stopped $label (pid $pid)"
}

stopped=0
postfix_stop=()
if [[ -f "$state/postfix/main.cf" ]]; then
  postfix_stop=(postfix -c "$state/postfix" stop)
fi
if stop_one postfix "$state/queue/pid/master.pid" master "${postfix_stop[@]}"; then
  stopped=1
fi
if stop_one dovecot "$state/dovecot/run/master.pid" dovecot; then
  stopped=1
fi
if stop_one dnsmasq "$state/dnsmasq.pid" dnsmasq; then
  stopped=1
fi
# Exim leads its own session (up.sh starts it with setsid): TERM goes to it
# and to the connection processes it forked.
if stop_one exim "$state/exim/exim.pid" exim4; then
  stopped=1
fi

if stop_one autoconfig "$state/autoconfig.pid" python3; then
  stopped=1
fi

if ((stopped == 0)); then
  echo "testbed down: nothing running in $state"
fi
