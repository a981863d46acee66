#!/usr/bin/env bash
# Starts the smtp-doctor real-server test bed: a private CA and certificates,
# dnsmasq serving the smtpd.test zone, Dovecot as the SASL back end and a
# private Postfix instance with one SMTP listener per scenario.
#
#   tests/testbed/up.sh STATE_DIR
#
# Everything (keys, configs, queue, PID files, logs) lives in STATE_DIR.
# Exits 0 only when every listener answers; otherwise prints the log tails,
# stops what it started and exits 1. A test bed left running in STATE_DIR by an
# earlier run is stopped first. See README.md for the addresses and accounts.
# All traffic stays on 127.0.0.0/8.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if (($# != 1)); then
  echo "usage: $0 STATE_DIR" >&2
  exit 2
fi
state=$1
if [[ "$state" != /* ]]; then
  state="$PWD/$state"
fi
if [[ "$state" =~ [[:space:],] ]]; then
  echo "testbed up: STATE_DIR must not contain spaces or commas: $state" >&2
  exit 2
fi
# Dovecot binds unix sockets below $state/dovecot; their paths must stay
# under the kernel's 108-byte limit.
if ((${#state} > 60)); then
  echo "testbed up: STATE_DIR path is too long (max 60 characters): $state" >&2
  exit 2
fi

if ((EUID != 0)); then
  echo "testbed up: must run as root (Postfix and Dovecot drop privileges themselves)" >&2
  exit 1
fi
for tool in postfix postconf dovecot dnsmasq openssl swaks script runuser timeout; do
  if ! command -v "$tool" >/dev/null; then
    echo "testbed up: '$tool' not found; run tests/testbed/install.sh first" >&2
    exit 1
  fi
done

# ---------------------------------------------------------------- addresses
dns_ip=127.0.0.2
dns_port=5353
# host:port:mode:certificate-name, mode = starttls, implicit or starttls-old
# (a server that still offers only TLS 1.0)
listeners=(
  127.0.0.2:25:starttls:mail.smtpd.test
  127.0.0.2:587:starttls:mail.smtpd.test
  127.0.0.2:465:implicit:mail.smtpd.test
  127.0.0.2:2525:starttls:mail.smtpd.test
  127.0.0.2:2465:implicit:mail.smtpd.test
  127.0.0.2:2587:starttls-old:mail.smtpd.test
  127.0.0.3:587:starttls:expired.smtpd.test
  127.0.0.4:587:starttls:other.example.test
  127.0.0.5:25:starttls:ipallowed.smtpd.test
  127.0.0.6:25:starttls:connector.smtpd.test
  127.0.0.7:465:implicit:selfsigned.smtpd.test
)
# Addresses that must stay closed: tests use them for "connection refused".
closed=(127.0.0.8:25 127.0.0.8:465 127.0.0.8:587 127.0.0.2:2526)

alice_user=alice@smtpd.test
alice_pass=Corr3ct-H0rse-Battery
bob_user=bob@smtpd.test
bob_pass=B0b-Str0ng-Pass
# carol may log in to IMAP but not to SMTP: the "SMTP AUTH switched off
# for this mailbox" case (Dovecot's passdb is chosen per service).
carol_user=carol@smtpd.test
carol_pass=Car0l-Imap-0nly

tls=$state/tls
pfconf=$state/postfix
queue=$state/queue
dovedir=$state/dovecot
# Dovecot links base_dir/dovecot.conf to its config file, so the config must
# live outside base_dir.
doverun=$dovedir/run

log() { echo "testbed up: $*"; }

# Does anything accept TCP connections on HOST:PORT? (one second at most)
tcp_open() {
  local host=${1%:*} port=${1##*:}
  timeout 1 bash -c "exec 3<>/dev/tcp/$host/$port" 2>/dev/null
}

# ---------------------------------------------------------------- failure path
started=0
on_exit() {
  local rc=$?
  if ((rc != 0 && started)); then
    echo "testbed up: FAILED (exit $rc); log tails follow" >&2
    local f
    for f in "$state/start.log" "$state/postfix-start.log" "$state/postfix.log" \
      "$state/dovecot.log" "$state/dnsmasq.log"; do
      if [[ -s "$f" ]]; then
        echo "----- $f" >&2
        tail -n 25 "$f" >&2
      fi
    done
    echo "-----" >&2
    "$here/down.sh" "$state" >&2 || true
  fi
}
trap on_exit EXIT

# ---------------------------------------------------------------- clean slate
mkdir -p "$state"
"$here/down.sh" "$state"

for spec in "${listeners[@]}" "$dns_ip:$dns_port"; do
  addr=${spec%%:*}:$(cut -d: -f2 <<<"$spec")
  if tcp_open "$addr"; then
    echo "testbed up: $addr is already in use (another test bed running from a different" \
      "STATE_DIR?); stop it with down.sh and retry" >&2
    exit 1
  fi
done

# Only what this script itself creates is removed; nothing else in STATE_DIR.
rm -rf "$tls" "$pfconf" "$queue" "$state/data" "$dovedir"
rm -f "$state/ca.pem" "$state/dnsmasq.conf" "$state/dnsmasq.pid" \
  "$state/start.log" "$state/postfix.log" "$state/postfix-start.log" "$state/dovecot.log" \
  "$state/dnsmasq.log"
# Postfix and Dovecot drop privileges and must be able to walk into STATE_DIR.
chmod 0755 "$state"
if ! runuser -u postfix -- test -x "$state"; then
  echo "testbed up: the postfix user cannot reach $state; every parent directory" \
    "needs o+x (a directory under /tmp works)" >&2
  exit 1
fi
mkdir -p "$tls/ca/issued" "$pfconf" "$queue/private" "$state/data" "$dovedir"
# Dovecot puts the SASL socket into the queue before Postfix first starts, so
# the directory Postfix would create is made here with Postfix's ownership.
chown postfix:root "$queue/private"
chmod 0700 "$queue/private"
chown postfix:postfix "$state/data"
chmod 0700 "$state/data"
touch "$state/postfix.log" "$state/dovecot.log"

# ---------------------------------------------------------------- TLS material
write_openssl_config() {
  cat >"$tls/openssl.cnf" <<EOF
# smtp-doctor test bed: private CA used only by up.sh
[ req ]
distinguished_name = req_dn
prompt             = no

[ req_dn ]
CN = smtp-doctor test bed

[ ca ]
default_ca = testbed_ca

[ testbed_ca ]
dir             = $tls/ca
database        = \$dir/index.txt
new_certs_dir   = \$dir/issued
serial          = \$dir/serial
certificate     = $tls/ca.crt
private_key     = $tls/ca.key
default_md      = sha256
policy          = policy_any
unique_subject  = no
email_in_dn     = no
copy_extensions = none

[ policy_any ]
organizationName = optional
commonName = supplied

[ ext_ca ]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash

[ ext_leaf ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature, keyEncipherment
extendedKeyUsage       = serverAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
subjectAltName         = \$ENV::TESTBED_SAN

[ ext_selfsigned ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature, keyEncipherment
extendedKeyUsage       = serverAuth
subjectKeyIdentifier   = hash
subjectAltName         = \$ENV::TESTBED_SAN
EOF
}

new_key() {
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
}

utc() { date -u -d "$1" +%Y%m%d%H%M%SZ; }

# sign CSR OUT EXTENSIONS START END [OWN_KEY]: a certificate valid from START
# to END (openssl ca date format; may lie entirely in the past), signed by the
# test CA, or with OWN_KEY by the request's own key (self-signed).
sign() {
  local args=(-batch -notext -config "$tls/openssl.cnf" -extensions "$3"
    -startdate "$4" -enddate "$5" -in "$1" -out "$2")
  if (($# > 5)); then
    args+=(-selfsign -keyfile "$6")
  fi
  openssl ca "${args[@]}" 2>>"$tls/ca.log"
}

# leaf NAME START END [self]: key, certificate for DNS:NAME and the combined
# key+certificate file that Postfix reads.
leaf() {
  local name=$1 start=$2 end=$3 mode=${4:-ca}
  new_key "$tls/$name.key"
  TESTBED_SAN="DNS:$name" openssl req -new -config "$tls/openssl.cnf" \
    -key "$tls/$name.key" -subj "/CN=$name" -out "$tls/$name.csr"
  if [[ "$mode" == self ]]; then
    TESTBED_SAN="DNS:$name" sign "$tls/$name.csr" "$tls/$name.crt" ext_selfsigned \
      "$start" "$end" "$tls/$name.key"
  else
    TESTBED_SAN="DNS:$name" sign "$tls/$name.csr" "$tls/$name.crt" ext_leaf "$start" "$end"
  fi
  cat "$tls/$name.key" "$tls/$name.crt" >"$tls/$name.pem"
}

make_tls() {
  write_openssl_config
  : >"$tls/ca/index.txt"
  echo 1000 >"$tls/ca/serial"

  # A day of slack on the start dates keeps small clock differences harmless.
  local start ten_years
  start=$(utc '1 day ago')
  ten_years=$(utc '3650 days')

  new_key "$tls/ca.key"
  TESTBED_SAN=unused openssl req -new -config "$tls/openssl.cnf" -key "$tls/ca.key" \
    -subj "/O=smtp-doctor test bed/CN=smtp-doctor Test CA" -out "$tls/ca.csr"
  TESTBED_SAN=unused sign "$tls/ca.csr" "$tls/ca.crt" ext_ca "$start" "$(utc '3660 days')" \
    "$tls/ca.key"
  cp "$tls/ca.crt" "$state/ca.pem"

  leaf mail.smtpd.test "$start" "$ten_years"
  leaf other.example.test "$start" "$ten_years"
  leaf ipallowed.smtpd.test "$start" "$ten_years"
  leaf connector.smtpd.test "$start" "$ten_years"
  leaf expired.smtpd.test 20200101000000Z 20210101000000Z
  leaf selfsigned.smtpd.test "$start" "$ten_years" self

  chmod 0600 "$tls"/*.key "$tls"/*.pem
}

# ---------------------------------------------------------------- dnsmasq
write_dnsmasq() {
  cat >"$state/dnsmasq.conf" <<EOF
# smtp-doctor test bed: authoritative-looking answers for *.test only
port=$dns_port
listen-address=$dns_ip
bind-interfaces
no-resolv
no-poll
no-hosts
local=/test/
pid-file=$state/dnsmasq.pid
log-facility=$state/dnsmasq.log
log-queries

host-record=mail.smtpd.test,127.0.0.2
host-record=expired.smtpd.test,127.0.0.3
host-record=wrongname.smtpd.test,127.0.0.4
host-record=ipallowed.smtpd.test,127.0.0.5
host-record=connector.smtpd.test,127.0.0.6
host-record=selfsigned.smtpd.test,127.0.0.7
host-record=closed.smtpd.test,127.0.0.8
# exists, but has no address: A/AAAA answer NOERROR with no data
txt-record=noaddr.smtpd.test,"smtp-doctor test bed: this name has no address"

mx-host=smtpd.test,mail.smtpd.test,10
txt-record=smtpd.test,"v=spf1 ip4:127.0.0.0/8 -all"
txt-record=_dmarc.smtpd.test,"v=DMARC1; p=none"
srv-host=_submission._tcp.smtpd.test,mail.smtpd.test,587,0,1
srv-host=_submissions._tcp.smtpd.test,mail.smtpd.test,465,0,1
EOF
  # More records for particular checks live beside this script, one file
  # per topic, in dnsmasq.d/*.conf.
  if [[ -d "$here/dnsmasq.d" ]]; then
    echo "conf-dir=$here/dnsmasq.d,*.conf" >>"$state/dnsmasq.conf"
  fi
}

# ---------------------------------------------------------------- Dovecot
write_dovecot() {
  local alice_hash bob_hash carol_hash
  alice_hash=$(openssl passwd -6 "$alice_pass")
  bob_hash=$(openssl passwd -6 "$bob_pass")
  carol_hash=$(openssl passwd -6 "$carol_pass")
  # One password file per service (%s): SMTP logins come from Postfix as
  # service "smtp", IMAP logins as "imap".
  printf '%s:{SHA512-CRYPT}%s::::::\n' "$alice_user" "$alice_hash" "$bob_user" "$bob_hash" \
    >"$dovedir/users.smtp"
  printf '%s:{SHA512-CRYPT}%s::::::\n' "$alice_user" "$alice_hash" "$bob_user" "$bob_hash" \
    "$carol_user" "$carol_hash" >"$dovedir/users.imap"
  # POP3 is incoming mail too: the same accounts as IMAP.
  cp "$dovedir/users.imap" "$dovedir/users.pop3"
  chown root:dovecot "$dovedir/users.smtp" "$dovedir/users.imap" "$dovedir/users.pop3"
  chmod 0640 "$dovedir/users.smtp" "$dovedir/users.imap" "$dovedir/users.pop3"
  mkdir -p "$state/mail"
  chown nobody:nogroup "$state/mail"

  cat >"$dovedir/dovecot.conf" <<EOF
# smtp-doctor test bed: Dovecot as the SASL back end of Postfix, and IMAP
# (143 STARTTLS, 993 implicit TLS) and POP3 (110 STLS, 995 implicit TLS) on
# 127.0.0.2 for incoming.login
instance_name = smtp-doctor-testbed
base_dir = $doverun
state_dir = $dovedir/state
log_path = $state/dovecot.log
protocols = imap pop3
listen = 127.0.0.2
ssl = yes
ssl_cert = <$tls/mail.smtpd.test.crt
ssl_key = <$tls/mail.smtpd.test.key
mail_location = maildir:$state/mail/%d/%n
login_trusted_networks =
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
auth_verbose = yes

passdb {
  driver = passwd-file
  args = scheme=SHA512-CRYPT username_format=%u $dovedir/users.%s
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}

# No growing per-IP penalty after failed logins: every test connects from
# 127.0.0.1 and a wrong-password test must not slow down the next test.
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}

service imap-login {
  inet_listener imap {
    address = 127.0.0.2
    port = 143
  }
  inet_listener imaps {
    address = 127.0.0.2
    port = 993
    ssl = yes
  }
}

service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.2
    port = 110
  }
  inet_listener pop3s {
    address = 127.0.0.2
    port = 995
    ssl = yes
  }
}

service auth {
  unix_listener $queue/private/auth {
    mode = 0660
    user = postfix
    group = postfix
  }
}
EOF
}

# ---------------------------------------------------------------- Postfix
write_postfix() {
  printf '%s %s\n' "$alice_user" "$alice_user" "$bob_user" "$bob_user" \
    >"$pfconf/sender_logins"

  local proxies=() spec
  for spec in "${listeners[@]}"; do
    proxies+=("${spec%%:*}")
  done
  local proxy_list
  proxy_list=$(printf '%s\n' "${proxies[@]}" | sort -u | paste -sd, - | sed 's/,/, /g')

  cat >"$pfconf/main.cf" <<EOF
# smtp-doctor test bed: private Postfix instance, nothing ever leaves the box
compatibility_level = 3.6
queue_directory = $queue
data_directory = $state/data
maillog_file = $state/postfix.log
maillog_file_prefixes = $state
mail_owner = postfix
setgid_group = postdrop

myhostname = mail.smtpd.test
mydomain = smtpd.test
myorigin = \$myhostname
mydestination =
# Like a real MX, port 25 takes mail for its own domain from anyone.
relay_domains = smtpd.test
# Only real mailboxes of smtpd.test exist: others get 550 5.1.1.
relay_recipient_maps = inline:{ alice@smtpd.test=ok, bob@smtpd.test=ok, carol@smtpd.test=ok }
local_recipient_maps =
alias_maps =
alias_database =
biff = no
append_dot_mydomain = no
readme_directory = no

inet_protocols = ipv4
inet_interfaces = loopback-only
proxy_interfaces = $proxy_list
# The test client connects from 127.0.0.1 and must NOT be trusted by default.
mynetworks = 127.0.0.99/32

# Every message is accepted and thrown away; there is no smtp client service.
default_transport = discard:testbed
relay_transport = discard:testbed
local_transport = discard:testbed
# One real mailbox, for the opt-in real test message (send):
# inbox@mailbox.test is delivered to $state/mail/mailbox.test/inbox/.
virtual_mailbox_domains = mailbox.test
virtual_mailbox_base = $state/mail
virtual_mailbox_maps = inline:{ inbox@mailbox.test=mailbox.test/inbox/ }
virtual_uid_maps = static:$(id -u nobody)
virtual_gid_maps = static:$(getent group nogroup | cut -d: -f3)
virtual_transport = virtual
smtpd_peername_lookup = no
smtp_dns_support_level = disabled

smtpd_tls_chain_files = $tls/mail.smtpd.test.pem
smtpd_tls_security_level = may
smtpd_tls_auth_only = yes
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes

smtpd_sasl_type = dovecot
smtpd_sasl_path = private/auth
smtpd_sasl_auth_enable = no
smtpd_sasl_security_options = noanonymous
smtpd_sender_login_maps = texthash:$pfconf/sender_logins

smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
smtpd_recipient_restrictions =
smtpd_sender_restrictions =
EOF

  local submission="-o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
  -o smtpd_sender_restrictions=reject_sender_login_mismatch"

  cat >"$pfconf/master.cf" <<EOF
# smtp-doctor test bed: one smtpd per scenario, each on its own address
# service             type  private unpriv chroot wakeup maxproc command
127.0.0.2:25          inet  n       -       n      -      -       smtpd
  -o syslog_name=postfix/mx
  -o smtpd_sasl_auth_enable=yes
127.0.0.2:587         inet  n       -       n      -      -       smtpd
  -o syslog_name=postfix/submission
  $submission
127.0.0.2:465         inet  n       -       n      -      -       smtpd
  -o syslog_name=postfix/submissions
  -o smtpd_tls_wrappermode=yes
  $submission
127.0.0.2:2525        inet  n       -       n      -      -       smtpd
  -o syslog_name=postfix/alt-submission
  $submission
127.0.0.2:2587        inet  n       -       n      -      -       smtpd
  -o syslog_name=postfix/old-tls
  -o smtpd_tls_protocols=TLSv1
  -o smtpd_tls_mandatory_protocols=TLSv1
  $submission
127.0.0.2:2465        inet  n       -       n      -      -       smtpd
  -o syslog_name=postfix/alt-submissions
  -o smtpd_tls_wrappermode=yes
  $submission
127.0.0.3:587         inet  n       -       n      -      -       smtpd
  -o syslog_name=postfix/expired
  -o myhostname=expired.smtpd.test
  -o smtpd_tls_chain_files=$tls/expired.smtpd.test.pem
  $submission
127.0.0.4:587         inet  n       -       n      -      -       smtpd
  -o syslog_name=postfix/wrongname
  -o myhostname=wrongname.smtpd.test
  -o smtpd_tls_chain_files=$tls/other.example.test.pem
  $submission
127.0.0.7:465         inet  n       -       n      -      -       smtpd
  -o syslog_name=postfix/selfsigned
  -o myhostname=selfsigned.smtpd.test
  -o smtpd_tls_wrappermode=yes
  -o smtpd_tls_chain_files=$tls/selfsigned.smtpd.test.pem
  $submission
127.0.0.6:25          inet  n       -       n      -      -       smtpd
  -o syslog_name=postfix/connector
  -o myhostname=connector.smtpd.test
  -o smtpd_tls_chain_files=$tls/connector.smtpd.test.pem
  -o mynetworks=127.0.0.99/32
  -o smtpd_relay_restrictions=permit_mynetworks,reject_unauth_destination
  -o smtpd_sasl_auth_enable=no
127.0.0.5:25          inet  n       -       n      -      -       smtpd
  -o syslog_name=postfix/ipallowed
  -o myhostname=ipallowed.smtpd.test
  -o smtpd_tls_chain_files=$tls/ipallowed.smtpd.test.pem
  -o mynetworks=127.0.0.0/8
  -o smtpd_relay_restrictions=permit_mynetworks,reject_unauth_destination
  -o smtpd_sasl_auth_enable=no

cleanup   unix  n       -       n      -      0       cleanup
qmgr      unix  n       -       n      300    1       qmgr
tlsmgr    unix  -       -       n      1000?  1       tlsmgr
rewrite   unix  -       -       n      -      -       trivial-rewrite
bounce    unix  -       -       n      -      0       bounce
defer     unix  -       -       n      -      0       bounce
trace     unix  -       -       n      -      0       bounce
verify    unix  -       -       n      -      1       verify
flush     unix  n       -       n      1000?  0       flush
proxymap  unix  -       -       n      -      -       proxymap
showq     unix  n       -       n      -      -       showq
error     unix  -       -       n      -      -       error
retry     unix  -       -       n      -      -       error
discard   unix  -       -       n      -      -       discard
virtual   unix  -       n       n      -      -       virtual
anvil     unix  -       -       n      -      1       anvil
scache    unix  -       -       n      -      1       scache
postlog   unix-dgram n  -       n      -      1       postlogd
EOF
}

# ---------------------------------------------------------------- start
make_tls
write_dnsmasq
write_dovecot
write_postfix
# Postfix will not read a configuration file changed within the last second
# or so (it might still be half written) and waits in 0.3 s steps until it is
# old enough; backdating the fresh files saves about two seconds per start.
touch -d '1 minute ago' "$pfconf"/*

started=1

# The daemons must not inherit this script's stdout/stderr: a caller reading
# them through a pipe would otherwise wait for an end of file that never comes.
log "starting dnsmasq"
dnsmasq --conf-file="$state/dnsmasq.conf" </dev/null >>"$state/start.log" 2>&1

# Dovecot first: an smtpd that finds no SASL back end exits, and Postfix then
# throttles that listener for a minute.
log "starting dovecot"
dovecot -c "$dovedir/dovecot.conf" </dev/null >>"$state/start.log" 2>&1
tenths=100
until [[ -S "$queue/private/auth" ]]; do
  if ((--tenths == 0)); then
    echo "testbed up: dovecot did not create $queue/private/auth" >&2
    exit 1
  fi
  sleep 0.1
done

log "starting postfix"
# Without a terminal, `postfix start` reports its errors only to syslog, which
# this machine may not have; `script` gives it one so they land in the file.
if ! script -qec "postfix -c '$pfconf' start" "$state/postfix-start.log" \
  </dev/null >/dev/null 2>>"$state/start.log"; then
  echo "testbed up: postfix start failed" >&2
  exit 1
fi

# ---------------------------------------------------------------- readiness
# Each check returns 0 once its service answers as expected.
check_dns() {
  if command -v dig >/dev/null; then
    [[ "$(dig +short +time=1 +tries=1 -p "$dns_port" "@$dns_ip" mail.smtpd.test A 2>/dev/null)" \
      == 127.0.0.2 ]]
  else
    tcp_open "$dns_ip:$dns_port"
  fi
}

# HOST:PORT:MODE:NAME -> TLS handshake done and the expected certificate seen.
check_listener() {
  local host port mode name out
  IFS=: read -r host port mode name <<<"$1"
  if [[ "$mode" == starttls-old ]]; then
    # Offers only TLS 1.0, which this machine's OpenSSL may refuse too:
    # ready when it greets.
    tcp_open "$host:$port"
    return
  fi
  local args=(-connect "$host:$port" -brief)
  if [[ "$mode" == starttls ]]; then
    args+=(-starttls smtp)
  fi
  out=$(timeout 2 openssl s_client "${args[@]}" </dev/null 2>&1) || true
  [[ "$out" == *"CONNECTION ESTABLISHED"* && "$out" == *"CN = $name"* ]]
}

check_sasl() {
  [[ -S "$queue/private/auth" ]] || return 1
  swaks --server 127.0.0.2:587 --tls --auth PLAIN --auth-user "$alice_user" \
    --auth-password "$alice_pass" --quit-after AUTH --timeout 3 >/dev/null 2>&1
}

check() {
  case "$1" in
    dns) check_dns ;;
    sasl) check_sasl ;;
    *) check_listener "$1" ;;
  esac
}

# All checks of a round run side by side; a round is repeated for those that
# failed until the deadline.
pending=(dns "${listeners[@]}" sasl)
deadline=$((SECONDS + 20))
while ((${#pending[@]} > 0)); do
  pids=()
  for item in "${pending[@]}"; do
    check "$item" &
    pids+=("$!")
  done
  still=()
  for i in "${!pending[@]}"; do
    wait "${pids[$i]}" || still+=("${pending[$i]}")
  done
  pending=("${still[@]+"${still[@]}"}")
  ((${#pending[@]} == 0)) && break
  if ((SECONDS >= deadline)); then
    echo "testbed up: not ready after 20 s: ${pending[*]}" >&2
    exit 1
  fi
  sleep 0.2
done

for addr in "${closed[@]}"; do
  if tcp_open "$addr"; then
    echo "testbed up: warning: $addr should be closed but accepts connections" >&2
  fi
done

log "ready in $state"
log "  CA certificate: $state/ca.pem"
log "  DNS: $dns_ip port $dns_port (zone smtpd.test)"
log "  logs: $state/postfix.log $state/dovecot.log $state/dnsmasq.log"
