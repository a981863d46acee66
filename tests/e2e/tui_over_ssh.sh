#!/usr/bin/env bash
# End-to-end test of the TUI as a user meets it over SSH: the real binary,
# in an 80x24 tmux pane, through a real SSH session to a private sshd on
# 127.0.0.1:2222. It types through the wizard against the test bed's
# Postfix with a wrong password, finds the highlighted cause (auth-failed)
# and its numbered fix on the screen, quits with q, and checks that the
# terminal came back: the shell prompt, cooked mode (stty), no alternate
# screen.
#
#   tests/e2e/tui_over_ssh.sh
#
# Needs root (it installs openssh-server and tmux when missing, and runs
# sshd) and a running test bed: tests/run.sh starts it and sets
# SMTP_DOCTOR_TESTBED to its state directory. The binary is
# target/debug/smtp-doctor (under $CARGO_TARGET_DIR when set; built when missing) or $SMTP_DOCTOR_BIN.
#
# The TUI takes the test bed's DNS server and CA from the environment
# (SMTP_DOCTOR_DNS, SMTP_DOCTOR_ECHO_DNS, SMTP_DOCTOR_CA_FILE), passed on
# the remote command line. Everything stays on 127.0.0.0/8. sshd is
# stopped by its PID; the temporary directory is removed. On failure the
# script prints the captured screen and exits 1.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin="${SMTP_DOCTOR_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/smtp-doctor}"
port=2222
session="smtp-doctor-e2e-$$"

say() { echo "tui_over_ssh: $*" >&2; }

if ((EUID != 0)); then
  say "must run as root (installs packages, runs sshd)"
  exit 1
fi
testbed="${SMTP_DOCTOR_TESTBED:-}"
if [[ -z "$testbed" || ! -f "$testbed/ca.pem" ]]; then
  say "SMTP_DOCTOR_TESTBED must name a running test bed's state dir (tests/run.sh sets it)"
  exit 1
fi

# ------------------------------------------------------------- packages
missing=()
[[ -x /usr/sbin/sshd ]] || missing+=(openssh-server)
command -v tmux >/dev/null || missing+=(tmux)
command -v ssh >/dev/null || missing+=(openssh-client)
if ((${#missing[@]})); then
  say "installing ${missing[*]}"
  # Keep the package from starting a system-wide sshd.
  policy=/usr/sbin/policy-rc.d
  made_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    made_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  ((made_policy)) && rm -f "$policy"
fi

if [[ ! -x "$bin" ]]; then
  (cd "$root" && cargo build --quiet)
fi

# ---------------------------------------------------------------- sshd
work=$(mktemp -d /tmp/smtp-doctor-e2e.XXXXXX)
sshd_pid=""
cleanup() {
  tmux kill-session -t "$session" 2>/dev/null || true
  if [[ -n "$sshd_pid" ]] && kill -0 "$sshd_pid" 2>/dev/null; then
    kill "$sshd_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

ssh-keygen -q -t ed25519 -N '' -f "$work/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$work/client_key"
cp "$work/client_key.pub" "$work/authorized_keys"
chmod 600 "$work/authorized_keys"
mkdir -p /run/sshd
cat >"$work/sshd_config" <<EOF
Port $port
ListenAddress 127.0.0.1
HostKey $work/host_key
PidFile $work/sshd.pid
AuthorizedKeysFile $work/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PrintMotd no
PrintLastLog no
X11Forwarding no
AllowTcpForwarding no
LogLevel VERBOSE
EOF
/usr/sbin/sshd -f "$work/sshd_config" -E "$work/sshd.log"
for _ in $(seq 50); do
  [[ -s "$work/sshd.pid" ]] && break
  sleep 0.1
done
sshd_pid=$(cat "$work/sshd.pid" 2>/dev/null || true)
if [[ -z "$sshd_pid" ]]; then
  say "sshd did not start"
  cat "$work/sshd.log" >&2 || true
  exit 1
fi

ssh_cmd=(ssh -p "$port" -i "$work/client_key"
  -o StrictHostKeyChecking=no -o UserKnownHostsFile="$work/known_hosts"
  -o LogLevel=ERROR)
ok=0
for _ in $(seq 50); do
  if "${ssh_cmd[@]}" -o BatchMode=yes root@127.0.0.1 true 2>/dev/null; then
    ok=1
    break
  fi
  sleep 0.1
done
if ((!ok)); then
  say "cannot log in over SSH"
  cat "$work/sshd.log" >&2 || true
  exit 1
fi

# ---------------------------------------------------------------- tmux
screen() { tmux capture-pane -p -t "$session"; }

fail() {
  say "FAILED: $*"
  echo "----- screen (80x24) -----" >&2
  screen >&2 || true
  echo "--------------------------" >&2
  exit 1
}

# Waits until the screen shows a text (fixed string).
wait_for() {
  local text=$1 secs=${2:-20}
  for ((i = 0; i < secs * 10; i++)); do
    if screen | grep -qF -- "$text"; then
      return 0
    fi
    sleep 0.1
  done
  fail "waited ${secs}s for: $text"
}

keys() { tmux send-keys -t "$session" "$@"; }
text() { tmux send-keys -t "$session" -l -- "$1"; }

tmux new-session -d -s "$session" -x 80 -y 24 \
  "env -i HOME=/root PATH=/usr/bin:/bin TERM=xterm-256color LANG=C.UTF-8 PS1='e2e\$ ' bash --norc --noprofile"
tmux set-option -t "$session" status off >/dev/null
tmux resize-window -t "$session" -x 80 -y 24 2>/dev/null || true
wait_for 'e2e$'

config="$work/config"
remote="env SMTP_DOCTOR_CONFIG_DIR=$config SMTP_DOCTOR_DNS=127.0.0.2:5353"
remote+=" SMTP_DOCTOR_ECHO_DNS=127.0.0.2:5353 SMTP_DOCTOR_CA_FILE=$testbed/ca.pem $bin;"
remote+=" st=\$?; stty -a; echo REMOTE-EXIT=\$st"
# Single quotes: the remote shell, not this one, expands $? and $st.
text "${ssh_cmd[*]} -t root@127.0.0.1 '$remote'"
keys Enter

started=$(date +%s%N)
wait_for 'What would you like to do?' 20
first_frame_ms=$((($(date +%s%N) - started) / 1000000))

# The wizard, step by step, as a user would type it.
keys Enter
wait_for 'Step 1 of 6'
text 'alice@smtpd.test'
keys Enter
wait_for 'Step 2 of 6'
# smtpd.test publishes its submission server in SRV records (RFC 6186 and
# 8314): the wizard finds it and offers it; take the suggestion.
wait_for 'publishes its outgoing server in DNS' 10
keys Enter
wait_for 'Step 3 of 6'
screen | grep -qF 'mail.smtpd.test' || fail "the server from the SRV record is not filled in"
keys Enter
wait_for 'Step 4 of 6'
keys Down Down
text 'wrong-password'
keys Enter
wait_for 'Step 5 of 6'
keys Down
text 'bob@example.net'
keys Enter
wait_for 'Step 6 of 6'
screen | grep -qF '127.0.0.2:5353' || fail "the review does not show the DNS server from the environment"
keys Enter

run_started=$(date +%s%N)
wait_for 'problem found' 60
run_ms=$((($(date +%s%N) - run_started) / 1000000))
shot=$(screen)

grep -qF 'Most likely cause' <<<"$shot" || fail "no most likely cause"
grep -qF 'auth-failed' <<<"$shot" || fail "the highlighted cause is not auth-failed"
title=$(python3 -c '
import json, sys
causes = json.load(open(sys.argv[1]))["causes"]
print(" ".join(next(c["title"] for c in causes if c["id"] == "auth-failed").split()[:3]))
' "$root/assets/causes.json" 2>/dev/null || true)
if [[ -n "$title" ]]; then
  grep -qF -- "$title" <<<"$shot" || fail "the cause's title (\"$title ...\") is not on the screen"
fi
grep -qF 'What to do:' <<<"$shot" || fail "no fixes"
grep -qE '(│|[|]) +1\. [A-Za-z]' <<<"$shot" || fail "no numbered fix"

# Quit, and find the terminal restored.
keys q
wait_for 'REMOTE-EXIT=' 10
wait_for 'e2e$' 10
after=$(screen)
grep -qF 'REMOTE-EXIT=0' <<<"$after" || fail "smtp-doctor did not exit 0"
grep -qE '(^| )icanon( |$)' <<<"$after" || fail "the remote terminal is not back in cooked mode (icanon)"
grep -qE '(^| )echo( |$)' <<<"$after" || fail "the remote terminal does not echo"
grep -qF '┌ Checks' <<<"$after" && fail "the dashboard is still on the screen"
[[ "$(tmux display-message -p -t "$session" '#{alternate_on}')" == 0 ]] ||
  fail "the terminal is still on the alternate screen"

say "ok: first frame ${first_frame_ms} ms after the ssh command, diagnosis ${run_ms} ms after Enter"
echo "----- the diagnosis as seen over SSH (80x24) -----"
echo "$shot"
