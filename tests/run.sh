#!/usr/bin/env bash
# The test command: installs the test servers when they are missing, starts
# a private Postfix + Dovecot + dnsmasq on loopback, runs every test against
# them, and stops them again (also on failure or Ctrl-C).
set -euo pipefail
cd "$(dirname "$0")/.."

# Dovecot's socket paths must stay short, so the state lives under /tmp.
state="${SMTP_DOCTOR_TESTBED:-$(mktemp -d /tmp/smtp-doctor-tb.XXXXXX)}"
mkdir -p "$state"
state="$(cd "$state" && pwd)"

bash tests/testbed/install.sh
trap 'bash tests/testbed/down.sh "$state" >/dev/null 2>&1 || true' EXIT INT TERM
bash tests/testbed/up.sh "$state"

# Under this script the real-server tests must run: they fail, rather than
# skip, when the servers do not answer.
export SMTP_DOCTOR_TESTBED="$state"
# A seatbelt: every lookup of every run under this script goes to the test
# DNS server on loopback, including the public-IP echo names.
export SMTP_DOCTOR_DNS=127.0.0.2:5353
export SMTP_DOCTOR_ECHO_DNS=127.0.0.2:5353
cargo test --all-targets "$@"
if [ -f tests/e2e/tui_over_ssh.sh ]; then
    bash tests/e2e/tui_over_ssh.sh
fi
