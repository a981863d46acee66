#!/usr/bin/env bash
# Re-records tests/data/logs/exim-testbed.log from the real test bed's Exim
# (127.0.0.20, see tests/testbed/README.md, section Exim): drives a fixed
# set of refusals with swaks and keeps the mainlog lines they caused.
#
#   bash tests/data/logs/record-exim.sh STATE_DIR      (a running test bed)
#
# Every session uses EHLO logscan-record.test, and Exim writes that name in
# each line it logs for them ("H=(logscan-record.test) [127.0.0.1]" or
# "for (logscan-record.test) [127.0.0.1]"), so only our lines are kept even
# when others use the test bed at the same time. Sessions (all from
# 127.0.0.1):
#   2 x relay to someone@example.net on port 25          -> relay not permitted
#   3 x wrong password for alice@smtpd.test on 587       -> plain authenticator failed
#   2 x bob@smtpd.test logged in, MAIL FROM alice on 587 -> rejected MAIL: does not match your login
#   2 x MAIL FROM before STARTTLS on 587                 -> rejected MAIL: STARTTLS required
#   1 x unknown recipient nobody@smtpd.test on port 25   -> rejected RCPT: Unrouteable address
# = 10 lines. tests/log_triage.rs checks the table against this list.
set -euo pipefail
STATE=${1:?usage: record-exim.sh STATE_DIR}
LOG="$STATE/exim/log/mainlog"
OUT="$(cd "$(dirname "$0")" && pwd)/exim-testbed.log"
[ -f "$LOG" ] || { echo "record-exim.sh: no $LOG (is the test bed with Exim running?)" >&2; exit 2; }
MARK=logscan-record.test
H=(--helo "$MARK" --timeout 10 --hide-all)
before=$(stat -c %s "$LOG")
for _ in 1 2; do
    swaks --server 127.0.0.20:25 "${H[@]}" --from alice@smtpd.test --to someone@example.net --quit-after RCPT || true
done
for _ in 1 2 3; do
    swaks --server 127.0.0.20:587 "${H[@]}" -tls -a PLAIN -au alice@smtpd.test -ap wrong-password --to someone@example.net || true
done
for _ in 1 2; do
    swaks --server 127.0.0.20:587 "${H[@]}" -tls -a PLAIN -au bob@smtpd.test -ap B0b-Str0ng-Pass \
        --from alice@smtpd.test --to someone@example.net --quit-after RCPT || true
done
for _ in 1 2; do
    swaks --server 127.0.0.20:587 "${H[@]}" --from alice@smtpd.test --to someone@example.net --quit-after RCPT || true
done
swaks --server 127.0.0.20:25 "${H[@]}" --from alice@smtpd.test --to nobody@smtpd.test --quit-after RCPT || true
sleep 1
if [ "$(stat -c %s "$LOG")" -lt "$before" ]; then
    echo "record-exim.sh: the mainlog was replaced meanwhile (test bed restarted); run again" >&2
    exit 1
fi
tail -c +"$((before + 1))" "$LOG" | grep -F "($MARK)" > "$OUT.tmp" || true
n=$(wc -l < "$OUT.tmp")
if [ "$n" -ne 10 ]; then
    echo "record-exim.sh: expected 10 lines, Exim wrote $n:" >&2
    cat "$OUT.tmp" >&2
    rm -f "$OUT.tmp"
    exit 1
fi
mv "$OUT.tmp" "$OUT"
chmod 644 "$OUT"
echo "record-exim.sh: $n lines -> $OUT"
