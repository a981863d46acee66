#!/usr/bin/env bash
# Re-records tests/data/logs/postfix-testbed.log from the real test bed's
# Postfix: drives a fixed set of refused submissions with swaks against a
# running test bed and copies the log lines they caused.
#
#   bash tests/data/logs/record.sh STATE_DIR      (a running test bed)
#
# What it drives (every session from 127.0.0.1, EHLO logscan-record.test):
#   3 x wrong password for alice@smtpd.test on 587 (STARTTLS, AUTH PLAIN)
#   1 x unknown login nobody@smtpd.test on 587
#   1 x SMTP login refused for IMAP-only carol@smtpd.test on 587
#   2 x relay to someone@example.net on port 25 without login
#   2 x bob@smtpd.test logged in, sending as alice@smtpd.test on 587
#   2 x MAIL FROM before STARTTLS on 587
#   1 x 587 with TLS, no login, sender alice@smtpd.test (not logged in)
# = 12 sessions. tests/log_triage.rs checks the table's counts against
# this list; change both together.
#
# Other people may use the same test bed: the recording is kept only when
# the log shows exactly our 12 sessions (counted by "connect from" lines);
# otherwise it is tried again, up to 5 times.
set -euo pipefail
STATE=${1:?usage: record.sh STATE_DIR}
LOG="$STATE/postfix.log"
OUT="$(cd "$(dirname "$0")" && pwd)/postfix-testbed.log"
[ -f "$LOG" ] || { echo "record.sh: no $LOG (is the test bed running?)" >&2; exit 2; }
command -v swaks >/dev/null || { echo "record.sh: swaks is missing" >&2; exit 2; }

H=(--helo logscan-record.test --timeout 10 --hide-all)
sub() { swaks --server 127.0.0.2:587 "${H[@]}" "$@" || true; }
drive() {
    for _ in 1 2 3; do
        sub -tls -a PLAIN -au alice@smtpd.test -ap wrong-password --to someone@example.net
    done
    sub -tls -a PLAIN -au nobody@smtpd.test -ap whatever --to someone@example.net
    sub -tls -a PLAIN -au carol@smtpd.test -ap Car0l-Imap-0nly --to someone@example.net
    for _ in 1 2; do
        swaks --server 127.0.0.2:25 "${H[@]}" --from alice@smtpd.test \
            --to someone@example.net --quit-after RCPT || true
    done
    for _ in 1 2; do
        sub -tls -a PLAIN -au bob@smtpd.test -ap B0b-Str0ng-Pass \
            --from alice@smtpd.test --to someone@example.net --quit-after RCPT
    done
    for _ in 1 2; do
        sub --from alice@smtpd.test --to someone@example.net --quit-after RCPT
    done
    sub -tls --from alice@smtpd.test --to someone@example.net --quit-after RCPT
}
SESSIONS=12

for attempt in 1 2 3 4 5; do
    before=$(stat -c %s "$LOG")
    drive
    sleep 2   # Postfix writes the disconnect lines after swaks quits
    tmp=$(mktemp)
    tail -c +"$((before + 1))" "$LOG" > "$tmp"
    got=$(grep -c ': connect from ' "$tmp" || true)
    if [ "$got" -eq "$SESSIONS" ]; then
        mv "$tmp" "$OUT"
        chmod 644 "$OUT"
        echo "record.sh: $(wc -l < "$OUT") lines from $SESSIONS sessions -> $OUT"
        exit 0
    fi
    rm -f "$tmp"
    echo "record.sh: attempt $attempt saw $got sessions, not $SESSIONS (someone else is using the test bed); again" >&2
    sleep 3
done
echo "record.sh: could not record a quiet window" >&2
exit 1
