#!/usr/bin/env bash
# Installs the programs the smtp-doctor real-server test bed needs.
# Quick and silent when everything is already there; needs root otherwise.
set -euo pipefail

packages=(
  postfix
  dovecot-core
  dovecot-imapd          # IMAP for incoming.login
  dovecot-pop3d          # POP3 for incoming.login
  openssl
  tmux
  swaks
  libnet-ssleay-perl     # STARTTLS / implicit TLS in swaks
  libio-socket-ssl-perl  # STARTTLS / implicit TLS in swaks
  bind9-dnsutils         # dig, to look at the test zone by hand
)
# dnsmasq comes as dnsmasq-base (binary only) or with the full dnsmasq
# package; either one is fine as long as the binary is there.
if [[ ! -x /usr/sbin/dnsmasq ]]; then
  packages+=(dnsmasq-base)
fi

is_installed() {
  local status
  status=$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) || return 1
  [[ "$status" == installed ]]
}

missing=()
for pkg in "${packages[@]}"; do
  if ! is_installed "$pkg"; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "testbed install: all present"
  exit 0
fi

if ((EUID != 0)); then
  echo "testbed install: missing packages: ${missing[*]}" >&2
  echo "testbed install: run this script as root (or apt-get install them) and retry" >&2
  exit 1
fi

echo "testbed install: installing ${missing[*]}"

# Keep package scripts from starting system-wide daemons while we install.
# A policy file that was already there is left exactly as it was.
policy=/usr/sbin/policy-rc.d
created_policy=0
cleanup() {
  if ((created_policy)); then
    rm -f "$policy"
  fi
}
trap cleanup EXIT
if [[ ! -e "$policy" ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 0755 "$policy"
  created_policy=1
fi

export DEBIAN_FRONTEND=noninteractive
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections

apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"

echo "testbed install: done"
