#!/usr/bin/env bash
# Starts the smtp-doctor real-server test bed: a private CA and certificates,
# dnsmasq serving the smtpd.test zone, Dovecot as the SASL back end, a
# private Postfix instance with one SMTP listener per scenario, and a private
# Exim (unpacked by install.sh) modelling the same scenarios with Exim's replies.
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
for tool in postfix postconf dovecot dnsmasq openssl swaks script runuser timeout setsid \
  unshare mount; do
  if ! command -v "$tool" >/dev/null; then
    echo "testbed up: '$tool' not found; run tests/testbed/install.sh first" >&2
    exit 1
  fi
done
# Exim is unpacked, not installed (Debian allows one MTA package): install.sh
# puts it here and creates its user.
exim_root=${TESTBED_EXIM_ROOT:-/opt/smtp-doctor-exim}
exim_bin=$exim_root/usr/sbin/exim4
exim_user=Debian-exim
if [[ ! -x "$exim_bin" ]] || ! getent passwd "$exim_user" >/dev/null; then
  echo "testbed up: Exim is not unpacked in $exim_root (or the user $exim_user is" \
    "missing); run tests/testbed/install.sh first" >&2
  exit 1
fi

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
# Exim's listeners, same format. 127.0.0.20 is exim.smtpd.test (25 without
# AUTH, 587 and 465 for submission), 127.0.0.21 is eximip.smtpd.test (relay
# allowed by client IP). See write_exim.
exim_listeners=(
  127.0.0.20:25:starttls:exim.smtpd.test
  127.0.0.20:587:starttls:exim.smtpd.test
  127.0.0.20:465:implicit:exim.smtpd.test
  127.0.0.21:25:starttls:eximip.smtpd.test
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
eximdir=$state/exim

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
      "$state/dovecot.log" "$state/dnsmasq.log" "$eximdir/start.log" \
      "$eximdir/log/paniclog" "$eximdir/log/mainlog"; do
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

for spec in "${listeners[@]}" "${exim_listeners[@]}" "$dns_ip:$dns_port"; do
  addr=${spec%%:*}:$(cut -d: -f2 <<<"$spec")
  if tcp_open "$addr"; then
    echo "testbed up: $addr is already in use (another test bed running from a different" \
      "STATE_DIR?); stop it with down.sh and retry" >&2
    exit 1
  fi
done

# Only what this script itself creates is removed; nothing else in STATE_DIR.
rm -rf "$tls" "$pfconf" "$queue" "$state/data" "$dovedir" "$eximdir"
rm -f "$state/ca.pem" "$state/dnsmasq.conf" "$state/dnsmasq.pid" \
  "$state/start.log" "$state/postfix.log" "$state/postfix-start.log" "$state/dovecot.log" \
  "$state/dnsmasq.log" "$state/autoconfig.pid" "$state/autoconfig.log"
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
  leaf exim.smtpd.test "$start" "$ten_years"
  leaf eximip.smtpd.test "$start" "$ten_years"
  leaf autoconfig.autoconf.test "$start" "$ten_years"

  chmod 0600 "$tls"/*.key "$tls"/*.pem
  # Exim reads its key after it has given up root for the exim user.
  chgrp "$exim_user" "$tls/exim.smtpd.test.key" "$tls/eximip.smtpd.test.key"
  chmod 0640 "$tls/exim.smtpd.test.key" "$tls/eximip.smtpd.test.key"
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

# ---------------------------------------------------------------- Exim
# Exim beside Postfix: the same scenarios with Exim's own replies. No DNS is
# needed (no host lookups, no ident, no dnslookup router); as a guard it still
# runs in a private mount namespace whose /etc/resolv.conf names 127.0.0.29,
# where nothing listens, so a lookup it should never make fails on loopback
# instead of leaving the machine. Accepted mail goes to :blackhole:.
write_exim() {
  mkdir -p "$eximdir/spool" "$eximdir/log"
  chown "$exim_user:$exim_user" "$eximdir/spool" "$eximdir/log"
  chmod 0750 "$eximdir/spool" "$eximdir/log"

  # The plaintext authenticators compare with crypteq against these hashes.
  local alice_hash bob_hash
  alice_hash=$(openssl passwd -6 "$alice_pass")
  bob_hash=$(openssl passwd -6 "$bob_pass")
  printf '%s: {crypt}%s\n' "$alice_user" "$alice_hash" "$bob_user" "$bob_hash" \
    >"$eximdir/passwd"
  chgrp "$exim_user" "$eximdir/passwd"
  chmod 0640 "$eximdir/passwd"

  echo "nameserver 127.0.0.29" >"$eximdir/resolv.conf"

  # Paths come in as macros; the rest is literal Exim syntax.
  cat >"$eximdir/exim.conf" <<EOF
# smtp-doctor test bed: private Exim, started by up.sh as
#   exim4 -C $eximdir/exim.conf -bdf
TB_EXIM_BIN = $exim_bin
TB_EXIM_DIR = $eximdir
TB_TLS_DIR = $tls
TB_EXIM_USER = $exim_user
EOF
  cat >>"$eximdir/exim.conf" <<'EOF'

primary_hostname = exim.smtpd.test
# 127.0.0.21 greets, says hello and presents its certificate as eximip.
smtp_active_hostname = ${if eq{$received_ip_address}{127.0.0.21}{eximip.smtpd.test}{exim.smtpd.test}}
exim_path = TB_EXIM_BIN
exim_user = TB_EXIM_USER
exim_group = TB_EXIM_USER
spool_directory = TB_EXIM_DIR/spool
log_file_path = TB_EXIM_DIR/log/%slog
pid_file_path = TB_EXIM_DIR/exim.pid
keep_environment =
# Deliveries (all to :blackhole:) run as the exim user in the receiving
# process's child, without re-executing Exim to regain root.
deliver_drop_privilege = true

local_interfaces = <; 127.0.0.20.25 ; 127.0.0.20.587 ; 127.0.0.20.465 ; 127.0.0.21.25
tls_on_connect_ports = 465
smtp_accept_max = 100
smtp_connect_backlog = 100

tls_advertise_hosts = *
tls_certificate = TB_TLS_DIR/${if eq{$received_ip_address}{127.0.0.21}{eximip}{exim}}.smtpd.test.crt
tls_privatekey = TB_TLS_DIR/${if eq{$received_ip_address}{127.0.0.21}{eximip}{exim}}.smtpd.test.key
# AUTH is offered only inside TLS, and never on port 25 (either address).
auth_advertise_hosts = ${if or{{eq{$tls_in_cipher}{}}{eq{$received_port}{25}}}{}{*}}

# Nothing that would need DNS or any other host.
host_lookup =
helo_lookup_domains =
rfc1413_hosts =
rfc1413_query_timeout = 0s

domainlist local_domains = smtpd.test

acl_smtp_mail = acl_mail
acl_smtp_rcpt = acl_rcpt

begin acl

acl_mail:
  # Submission on 587 wants TLS before the envelope (465 is TLS anyway).
  deny    condition = ${if eq{$received_port}{587}}
          !encrypted = *
          message = STARTTLS required before MAIL
  # A logged-in user sends only as the address it logged in with.
  deny    authenticated = *
          condition = ${if !eqi{$sender_address}{$authenticated_id}}
          message = Sender <$sender_address> does not match your login $authenticated_id
  accept

acl_rcpt:
  # Relaying: logged-in users, and any loopback client on 127.0.0.21.
  accept  authenticated = *
  accept  hosts = 127.0.0.0/8
          condition = ${if eq{$received_ip_address}{127.0.0.21}}
  # Everyone else: a sender that routes, and only mail for smtpd.test.
  require verify = sender
  require message = relay not permitted
          domains = +local_domains
  require verify = recipient
  accept

begin routers

# Mailboxes of smtpd.test; any other local part there is unknown
# ("Unrouteable address").
local_mailboxes:
  driver = redirect
  domains = +local_domains
  local_parts = alice : bob : postmaster
  data = :blackhole:

# Other domains end here as well: no router looks up or reaches any host.
other_domains:
  driver = redirect
  domains = ! +local_domains
  data = :blackhole:

begin authenticators

plain:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = ${if crypteq{$auth3}{${lookup{$auth2}lsearch{TB_EXIM_DIR/passwd}}}}
  server_set_id = $auth2

login:
  driver = plaintext
  public_name = LOGIN
  server_prompts = Username:: : Password::
  server_condition = ${if crypteq{$auth2}{${lookup{$auth1}lsearch{TB_EXIM_DIR/passwd}}}}
  server_set_id = $auth1
EOF
}

# ---------------------------------------------------------------- start
make_tls
write_dnsmasq
write_dovecot
write_postfix
write_exim
# Postfix will not read a configuration file changed within the last second
# or so (it might still be half written) and waits in 0.3 s steps until it is
# old enough; backdating the fresh files saves about two seconds per start.
touch -d '1 minute ago' "$pfconf"/*

started=1

# The daemons must not inherit this script's stdout/stderr: a caller reading
# them through a pipe would otherwise wait for an end of file that never comes.
log "starting dnsmasq"
dnsmasq --conf-file="$state/dnsmasq.conf" </dev/null >>"$state/start.log" 2>&1

# The autoconfig HTTPS server of `discover` (files in autoconfig/files).
log "starting the autoconfig server"
setsid python3 "$here/autoconfig/serve.py" 127.0.0.33 443 "$tls/autoconfig.autoconf.test.crt" \
  "$tls/autoconfig.autoconf.test.key" "$here/autoconfig/files" "$state/autoconfig.pid" \
  </dev/null >>"$state/autoconfig.log" 2>&1 &

# Exim needs nothing else of the test bed, so it starts early. setsid makes
# it lead its own session (down.sh ends the session); unshare, sh and setsid
# all exec, so $! is Exim's PID (Exim also writes it to the same file).
log "starting exim"
setsid unshare --mount sh -c 'mount --bind "$1" /etc/resolv.conf && exec "$2" -C "$3" -bdf' \
  exim-start "$eximdir/resolv.conf" "$exim_bin" "$eximdir/exim.conf" \
  </dev/null >>"$eximdir/start.log" 2>&1 &
exim_pid=$!
echo "$exim_pid" >"$eximdir/exim.pid"

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
    autoconfig) tcp_open 127.0.0.33:443 ;;
    *) check_listener "$1" ;;
  esac
}

# All checks of a round run side by side; a round is repeated for those that
# failed until the deadline.
# Exim's AUTH needs no other daemon (unlike Postfix's, which asks Dovecot), so
# its listeners answering is enough; smoke.sh checks its logins.
pending=(dns "${listeners[@]}" sasl "${exim_listeners[@]}" autoconfig)
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
  if ! kill -0 "$exim_pid" 2>/dev/null; then
    echo "testbed up: exim exited while starting (see $eximdir/start.log and" \
      "$eximdir/log/paniclog)" >&2
    exit 1
  fi
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
log "  exim logs: $eximdir/log/mainlog $eximdir/log/rejectlog $eximdir/log/paniclog"
