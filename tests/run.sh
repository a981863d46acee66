#!/usr/bin/env bash
# The test command: installs the test servers when they are missing, starts
# a private Postfix + Dovecot + dnsmasq on loopback, runs every test against
# them, and stops them again (also on failure or Ctrl-C).
set -euo pipefail
cd "$(dirname "$0")/.."

# Dovecot's socket paths must stay short, so the state lives under /tmp.
SMTP_DOCTOR_TESTBED_GIVEN="${SMTP_DOCTOR_TESTBED:-}"
state="${SMTP_DOCTOR_TESTBED:-$(mktemp -d /tmp/smtp-doctor-tb.XXXXXX)}"
mkdir -p "$state"
state="$(cd "$state" && pwd)"

bash tests/testbed/install.sh
bash tests/clients/install.sh
cleanup() {
    bash tests/testbed/down.sh "$state" >/dev/null 2>&1 || true
    # A state directory this script made is removed again.
    if [ -z "${SMTP_DOCTOR_TESTBED_GIVEN:-}" ]; then rm -rf "$state"; fi
}
trap cleanup EXIT INT TERM
bash tests/testbed/up.sh "$state"

# Under this script the real-server tests must run: they fail, rather than
# skip, when the servers do not answer.
export SMTP_DOCTOR_TESTBED="$state"
# A seatbelt: every lookup of every run under this script goes to the test
# DNS server on loopback, including the public-IP echo names.
export SMTP_DOCTOR_DNS=127.0.0.2:5353
export SMTP_DOCTOR_ECHO_DNS=127.0.0.2:5353
log="$state/cargo-test.log"
cargo test --all-targets "$@" -- --include-ignored 2>&1 | tee "$log"
bash tests/e2e/tui_over_ssh.sh
e2e_passed=1
# The Debian package: built, installed, run against the test bed, removed.
deb_status=0
bash tests/package/deb_test.sh 2>&1 | tee "$state/deb-test.log" || deb_status=$?
deb_line=$(grep -E '^deb: [0-9]+ passed, [0-9]+ failed$' "$state/deb-test.log" | tail -n 1 || true)
read -r _ deb_passed _ deb_failed _ <<<"${deb_line:-deb: 0 passed, 1 failed}"

# One closing line with every count: cargo's per-binary results plus the
# end-to-end test over SSH and the package test's own counts.
awk -v e2e="$e2e_passed" -v dp="$deb_passed" -v df="$deb_failed" '
  /^test result:/ {
    for (i = 1; i <= NF; i++) {
      if ($(i + 1) ~ /^passed/) p += $i
      if ($(i + 1) ~ /^failed/) f += $i
    }
  }
  END { printf "tests: %d passed, %d failed\n", p + e2e + dp, f + df }' "$log"
exit "$deb_status"
