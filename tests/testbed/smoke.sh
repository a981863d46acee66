#!/usr/bin/env bash
# Checks by hand, with swaks, openssl and dig, that a running smtp-doctor test
# bed (started by up.sh in STATE_DIR) gives the replies listed in README.md.
#
#   tests/testbed/smoke.sh STATE_DIR          # one line per case
#   VERBOSE=1 tests/testbed/smoke.sh STATE_DIR  # also the matching reply lines
#
# Exits 1 if any case does not answer as documented. Only 127.0.0.0/8 is used.
set -euo pipefail

if (($# != 1)); then
  echo "usage: $0 STATE_DIR" >&2
  exit 2
fi
state=$1
if [[ "$state" != /* ]]; then
  state="$PWD/$state"
fi
ca=$state/ca.pem
if [[ ! -r "$ca" ]]; then
  echo "smoke: $ca not found; is the test bed up?" >&2
  exit 1
fi

alice=(--auth-user alice@smtpd.test --auth-password Corr3ct-H0rse-Battery)
bob=(--auth-user bob@smtpd.test --auth-password B0b-Str0ng-Pass)
rcpt=someone@example.net

passed=0
failed=0

# expect NAME TEXT COMMAND...: COMMAND's output must contain the line TEXT.
expect() {
  local name=$1 text=$2 out line
  shift 2
  # NUL bytes dropped: a TLS alert that a clear-text client reads has some.
  out=$("$@" 2>&1 | tr -d '\000') || true
  if grep -qF -- "$text" <<<"$out"; then
    passed=$((passed + 1))
    printf 'ok    %-28s %s\n' "$name" "$text"
    if [[ -n "${VERBOSE:-}" ]]; then
      # (|| true: openssl's output has no such lines, and set -e would stop here)
      grep -E '^(<|\*\*\*|=== TLS peer)' <<<"$out" | grep -vE '^<[-~] +250-(PIPELINING|SIZE|VRFY|ETRN|ENHANCED|8BITMIME|DSN|SMTPUTF8)' |
        sed 's/^/        /' || true
    fi
  else
    failed=$((failed + 1))
    printf 'FAIL  %-28s wanted: %s\n' "$name" "$text"
    while IFS= read -r line; do
      printf '        %s\n' "$line"
    done <<<"$out"
  fi
}

smtp() { swaks --timeout 5 --helo client.test --to "$rcpt" "$@"; }

# raw_smtp HOST PORT LINE...: a clear-text dialogue that sends what swaks
# will not (e.g. AUTH that was not advertised); prints "<- " before each
# server line and "-> " before each line sent.
raw_smtp() {
  local host=$1 port=$2 line reply
  shift 2
  exec 3<>"/dev/tcp/$host/$port" || return 1
  read_reply() {
    while IFS= read -r -t 5 reply <&3; do
      reply=${reply%$'\r'}
      printf '<- %s\n' "$reply"
      [[ "$reply" =~ ^[0-9]{3}- ]] || return 0
    done
    return 1
  }
  read_reply
  for line in "$@"; do
    printf '%s\r\n' "$line" >&3
    printf -- '-> %s\n' "$line"
    read_reply || break
  done
  exec 3<&-
}

# openssl_verify HOST:PORT NAME MODE: verify the chain against the test CA and
# the certificate's name against NAME, as a strict client would.
openssl_verify() {
  local args=(-connect "$1" -brief -CAfile "$ca" -servername "$2" -verify_hostname "$2"
    -verify_return_error)
  if [[ "$3" == starttls ]]; then
    args+=(-starttls smtp)
  fi
  timeout 5 openssl s_client "${args[@]}" </dev/null
}

# ---- 127.0.0.2:25, the MX
expect mx-relay-denied "<** 554 5.7.1 <$rcpt>: Relay access denied" \
  smtp --server 127.0.0.2:25 --from alice@smtpd.test --quit-after RCPT
expect mx-own-domain "<-  250 2.1.5 Ok" \
  smtp --server 127.0.0.2:25 --from someone@example.net --to bob@smtpd.test --quit-after RCPT
expect mx-no-auth-in-clear "*** Host did not advertise authentication" \
  smtp --server 127.0.0.2:25 --auth PLAIN "${alice[@]}" --quit-after AUTH
expect mx-auth-after-starttls "<~  250 2.1.5 Ok" \
  smtp --server 127.0.0.2:25 --tls --auth PLAIN "${alice[@]}" --from alice@smtpd.test \
  --quit-after RCPT

# ---- 127.0.0.2:587, submission
expect sub-needs-starttls "<** 530 5.7.0 Must issue a STARTTLS command first" \
  smtp --server 127.0.0.2:587 --from alice@smtpd.test --quit-after RCPT
expect sub-auth-ok "<~  235 2.7.0 Authentication successful" \
  smtp --server 127.0.0.2:587 --tls --auth PLAIN "${alice[@]}" --from alice@smtpd.test \
  --quit-after RCPT
expect sub-rcpt-ok "<~  250 2.1.5 Ok" \
  smtp --server 127.0.0.2:587 --tls --auth LOGIN "${alice[@]}" --from alice@smtpd.test \
  --quit-after RCPT
expect sub-wrong-password "<~* 535 5.7.8 Error: authentication failed: (reason unavailable)" \
  smtp --server 127.0.0.2:587 --tls --auth PLAIN --auth-user alice@smtpd.test \
  --auth-password wrong-password --quit-after AUTH
expect sub-unknown-user "<~* 535 5.7.8 Error: authentication failed: (reason unavailable)" \
  smtp --server 127.0.0.2:587 --tls --auth PLAIN --auth-user carol@smtpd.test \
  --auth-password whatever --quit-after AUTH
expect sub-not-owner \
  "<~* 553 5.7.1 <alice@smtpd.test>: Sender address rejected: not owned by user bob@smtpd.test" \
  smtp --server 127.0.0.2:587 --tls --auth PLAIN "${bob[@]}" --from alice@smtpd.test \
  --quit-after RCPT
expect sub-unauth-known-sender \
  "<~* 553 5.7.1 <alice@smtpd.test>: Sender address rejected: not logged in" \
  smtp --server 127.0.0.2:587 --tls --from alice@smtpd.test --quit-after RCPT
expect sub-unauth-other-sender "<~* 554 5.7.1 <$rcpt>: Recipient address rejected: Access denied" \
  smtp --server 127.0.0.2:587 --tls --from someone@example.org --quit-after RCPT
expect sub-full-message "<~  250 2.0.0 Ok: queued as" \
  smtp --server 127.0.0.2:587 --tls --auth PLAIN "${bob[@]}" --from bob@smtpd.test

# ---- 127.0.0.2:465 implicit TLS, 127.0.0.2:2525 alternative submission
expect smtps-ok "<~  250 2.1.5 Ok" \
  smtp --server 127.0.0.2:465 --tls-on-connect --auth PLAIN "${alice[@]}" \
  --from alice@smtpd.test --quit-after RCPT
expect smtps-plaintext-client "<** Timeout (2 secs) waiting for server response" \
  swaks --timeout 2 --server 127.0.0.2:465 --to "$rcpt" --quit-after CONNECT
expect alt-2525-ok "<~  250 2.1.5 Ok" \
  smtp --server 127.0.0.2:2525 --tls --auth PLAIN "${bob[@]}" --from bob@smtpd.test \
  --quit-after RCPT

# ---- certificates
expect tls-good-587 "Verification: OK" openssl_verify 127.0.0.2:587 mail.smtpd.test starttls
expect tls-good-465 "Verification: OK" openssl_verify 127.0.0.2:465 mail.smtpd.test implicit
expect tls-expired "verify error:num=10:certificate has expired" \
  openssl_verify 127.0.0.3:587 expired.smtpd.test starttls
expect tls-wrong-name "verify error:num=62:hostname mismatch" \
  openssl_verify 127.0.0.4:587 wrongname.smtpd.test starttls
expect tls-wrong-name-subject "Peer certificate: CN = other.example.test" \
  timeout 5 openssl s_client -connect 127.0.0.4:587 -starttls smtp -brief
expect tls-self-signed "verify error:num=18:self-signed certificate" \
  openssl_verify 127.0.0.7:465 selfsigned.smtpd.test implicit
expect expired-still-serves "<~  235 2.7.0 Authentication successful" \
  smtp --server 127.0.0.3:587 --tls --auth PLAIN "${alice[@]}" --quit-after AUTH
expect selfsigned-still-serves "<~  235 2.7.0 Authentication successful" \
  smtp --server 127.0.0.7:465 --tls-on-connect --auth PLAIN "${alice[@]}" --quit-after AUTH

# ---- 127.0.0.5:25, relay allowed by IP
expect ipallowed-banner "<-  220 ipallowed.smtpd.test ESMTP Postfix" \
  smtp --server 127.0.0.5:25 --quit-after CONNECT
expect ipallowed-relays "<-  250 2.1.5 Ok" \
  smtp --server 127.0.0.5:25 --from anyone@example.org --quit-after RCPT
expect ipallowed-no-auth "*** Host did not advertise authentication" \
  smtp --server 127.0.0.5:25 --auth PLAIN "${alice[@]}" --quit-after AUTH

# ---- closed ports
expect closed-127.0.0.8 "connect: Connection refused" \
  smtp --server 127.0.0.8:587 --quit-after CONNECT
expect closed-2526 "connect: Connection refused" \
  smtp --server 127.0.0.2:2526 --quit-after CONNECT

# ---- Exim beside Postfix: 127.0.0.20 (exim.smtpd.test) and 127.0.0.21
# (eximip.smtpd.test); the replies are Exim's, see README.md "Exim".
expect exim-banner "<-  220 exim.smtpd.test ESMTP Exim 4.96 " \
  smtp --server 127.0.0.20:587 --quit-after CONNECT
expect exim-sub-needs-starttls "<** 550 STARTTLS required before MAIL" \
  smtp --server 127.0.0.20:587 --from alice@smtpd.test --quit-after RCPT
expect exim-sub-no-auth-in-clear "*** Host did not advertise authentication" \
  smtp --server 127.0.0.20:587 --auth PLAIN "${alice[@]}" --quit-after AUTH
expect exim-sub-auth-forced-clear "<- 503 AUTH command used when not advertised" \
  raw_smtp 127.0.0.20 587 "EHLO client.test" \
  "AUTH PLAIN $(printf '\0%s\0%s' alice@smtpd.test Corr3ct-H0rse-Battery | base64 -w0)" QUIT
expect exim-sub-auth-after-starttls "<~  250-AUTH PLAIN LOGIN" \
  smtp --server 127.0.0.20:587 --tls --quit-after EHLO
expect exim-sub-auth-ok "<~  235 Authentication succeeded" \
  smtp --server 127.0.0.20:587 --tls --auth PLAIN "${alice[@]}" --from alice@smtpd.test \
  --quit-after RCPT
expect exim-sub-rcpt-ok "<~  250 Accepted" \
  smtp --server 127.0.0.20:587 --tls --auth LOGIN "${alice[@]}" --from alice@smtpd.test \
  --quit-after RCPT
expect exim-sub-wrong-password "<~* 535 Incorrect authentication data" \
  smtp --server 127.0.0.20:587 --tls --auth PLAIN --auth-user alice@smtpd.test \
  --auth-password wrong-password --quit-after AUTH
expect exim-sub-unknown-user "<~* 535 Incorrect authentication data" \
  smtp --server 127.0.0.20:587 --tls --auth LOGIN --auth-user carol@smtpd.test \
  --auth-password whatever --quit-after AUTH
expect exim-sub-not-owner \
  "<~* 550 Sender <alice@smtpd.test> does not match your login bob@smtpd.test" \
  smtp --server 127.0.0.20:587 --tls --auth PLAIN "${bob[@]}" --from alice@smtpd.test \
  --quit-after RCPT
expect exim-sub-unauth-relay "<~* 550 relay not permitted" \
  smtp --server 127.0.0.20:587 --tls --from alice@smtpd.test --quit-after RCPT
expect exim-sub-full-message "<~  250 OK id=" \
  smtp --server 127.0.0.20:587 --tls --auth PLAIN "${bob[@]}" --from bob@smtpd.test
expect exim-smtps-ok "<~  250 Accepted" \
  smtp --server 127.0.0.20:465 --tls-on-connect --auth PLAIN "${alice[@]}" \
  --from alice@smtpd.test --quit-after RCPT
expect exim-smtps-wrong-password "<~* 535 Incorrect authentication data" \
  smtp --server 127.0.0.20:465 --tls-on-connect --auth LOGIN --auth-user bob@smtpd.test \
  --auth-password wrong-password --quit-after AUTH
expect exim-smtps-not-owner \
  "<~* 550 Sender <alice@smtpd.test> does not match your login bob@smtpd.test" \
  smtp --server 127.0.0.20:465 --tls-on-connect --auth PLAIN "${bob[@]}" \
  --from alice@smtpd.test --quit-after RCPT
expect exim-smtps-plaintext-client "<** Timeout (2 secs) waiting for server response" \
  swaks --timeout 2 --server 127.0.0.20:465 --to "$rcpt" --quit-after CONNECT
expect exim-mx-relay-denied "<** 550 relay not permitted" \
  smtp --server 127.0.0.20:25 --from alice@smtpd.test --quit-after RCPT
expect exim-mx-own-domain "<-  250 Accepted" \
  smtp --server 127.0.0.20:25 --from someone@example.net --to bob@smtpd.test --quit-after RCPT
expect exim-mx-unknown-mailbox "<** 550 Unrouteable address" \
  smtp --server 127.0.0.20:25 --from someone@example.net --to carol@smtpd.test \
  --quit-after RCPT
expect exim-mx-sender-verify "<** 550-Verification failed for <carol@smtpd.test>" \
  smtp --server 127.0.0.20:25 --from carol@smtpd.test --to bob@smtpd.test --quit-after RCPT
expect exim-mx-no-auth-after-starttls "*** Host did not advertise authentication" \
  smtp --server 127.0.0.20:25 --tls --auth PLAIN "${alice[@]}" --quit-after AUTH
expect exim-ip-banner "<-  220 eximip.smtpd.test ESMTP Exim 4.96 " \
  smtp --server 127.0.0.21:25 --quit-after CONNECT
expect exim-ip-relays "<-  250 OK id=" \
  smtp --server 127.0.0.21:25 --from anyone@example.org
expect exim-ip-no-auth "*** Host did not advertise authentication" \
  smtp --server 127.0.0.21:25 --tls --auth PLAIN "${alice[@]}" --quit-after AUTH
expect exim-tls-good-587 "Verification: OK" openssl_verify 127.0.0.20:587 exim.smtpd.test starttls
expect exim-tls-good-465 "Verification: OK" openssl_verify 127.0.0.20:465 exim.smtpd.test implicit
expect exim-tls-good-ip "Verification: OK" openssl_verify 127.0.0.21:25 eximip.smtpd.test starttls

# ---- DNS
if command -v dig >/dev/null; then
  q() { dig +time=2 +tries=1 -p 5353 @127.0.0.2 "$@"; }
  expect dns-a-mail "mail.smtpd.test.	0	IN	A	127.0.0.2" q mail.smtpd.test A
  expect dns-a-closed "closed.smtpd.test.	0	IN	A	127.0.0.8" q closed.smtpd.test A
  expect dns-mx "smtpd.test.		0	IN	MX	10 mail.smtpd.test." q smtpd.test MX
  expect dns-srv-submission "IN	SRV	0 1 587 mail.smtpd.test." q _submission._tcp.smtpd.test SRV
  expect dns-srv-submissions "IN	SRV	0 1 465 mail.smtpd.test." q _submissions._tcp.smtpd.test SRV
  expect dns-spf '"v=spf1 ip4:127.0.0.0/8 -all"' q smtpd.test TXT
  expect dns-dmarc '"v=DMARC1; p=none"' q _dmarc.smtpd.test TXT
  expect dns-noaddr-nodata "status: NOERROR" q noaddr.smtpd.test A
  expect dns-noaddr-no-answer "ANSWER: 0" q noaddr.smtpd.test A
  expect dns-nxdomain "status: NXDOMAIN" q nope.smtpd.test A
  expect dns-outside-refused "status: REFUSED" q example.com A
  expect dns-a-exim "exim.smtpd.test.	0	IN	A	127.0.0.20" q exim.smtpd.test A
  expect dns-a-eximip "eximip.smtpd.test.	0	IN	A	127.0.0.21" q eximip.smtpd.test A
fi

echo "smoke: $passed passed, $failed failed"
((failed == 0))
