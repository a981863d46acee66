#!/usr/bin/env bash
# Installs the programs the smtp-doctor real-server test bed needs.
# Quick and silent when everything is already there; needs root otherwise.
#
# Exim runs beside Postfix, but Debian allows only one package that provides
# mail-transport-agent, so Exim's own packages are unpacked (not installed)
# into $TESTBED_EXIM_ROOT (default /opt/smtp-doctor-exim); the libraries it
# links against are installed as ordinary packages.
set -euo pipefail

exim_root=${TESTBED_EXIM_ROOT:-/opt/smtp-doctor-exim}
exim_bin=$exim_root/usr/sbin/exim4
exim_packages=(exim4-base exim4-daemon-light)
exim_user=Debian-exim

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

# The unpacked Exim is usable when its binary is there and every library it
# links against is found.
exim_ready() {
  local libs
  [[ -x "$exim_bin" ]] || return 1
  libs=$(ldd "$exim_bin" 2>&1) || return 1
  [[ "$libs" != *"not found"* ]]
}

need_exim=0
exim_ready || need_exim=1
need_user=0
getent passwd "$exim_user" >/dev/null || need_user=1

if ((${#missing[@]} == 0 && need_exim == 0 && need_user == 0)); then
  echo "testbed install: all present"
  exit 0
fi

if ((EUID != 0)); then
  if ((${#missing[@]} > 0)); then
    echo "testbed install: missing packages: ${missing[*]}" >&2
  fi
  if ((need_exim)); then
    echo "testbed install: Exim is not unpacked (or lacks libraries) in $exim_root" >&2
  fi
  if ((need_user)); then
    echo "testbed install: the user $exim_user does not exist" >&2
  fi
  echo "testbed install: run this script as root and retry" >&2
  exit 1
fi

# Keep package scripts from starting system-wide daemons while we install.
# A policy file that was already there is left exactly as it was.
policy=/usr/sbin/policy-rc.d
created_policy=0
download_dir=
cleanup() {
  if ((created_policy)); then
    rm -f "$policy"
  fi
  if [[ -n "$download_dir" ]]; then
    rm -rf "$download_dir" "$exim_root.new"
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

if ((${#missing[@]} > 0 || need_exim)); then
  apt-get update -q
fi
if ((${#missing[@]} > 0)); then
  echo "testbed install: installing ${missing[*]}"
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Prints the library packages a .deb depends on: the first choice of each
# alternative, without version constraints (exim4-base, debconf, cron and
# the like are not needed to run the unpacked binary and are left out).
library_depends() {
  dpkg-deb -f "$1" Depends | tr ',' '\n' | sed -e 's/|.*//' -e 's/(.*)//' -e 's/[[:space:]]//g' |
    grep '^lib' || true
}

if ((need_exim)); then
  echo "testbed install: unpacking ${exim_packages[*]} into $exim_root"
  download_dir=$(mktemp -d)
  # apt drops to the _apt user for downloads; let it write here.
  if getent passwd _apt >/dev/null; then
    chown _apt "$download_dir"
  fi
  (cd "$download_dir" && apt-get download -q "${exim_packages[@]}")

  libs=()
  for deb in "$download_dir"/*.deb; do
    while IFS= read -r lib; do
      if ! is_installed "$lib"; then
        libs+=("$lib")
      fi
    done < <(library_depends "$deb")
  done
  if ((${#libs[@]} > 0)); then
    mapfile -t libs < <(printf '%s\n' "${libs[@]}" | sort -u)
    echo "testbed install: installing Exim's libraries ${libs[*]}"
    apt-get install -y -q --no-install-recommends "${libs[@]}"
  fi

  rm -rf "$exim_root.new"
  mkdir -p "$exim_root.new"
  for deb in "$download_dir"/*.deb; do
    dpkg-deb -x "$deb" "$exim_root.new"
    dpkg-deb --show --showformat='${Package} ${Version}\n' "$deb" >>"$exim_root.new/PACKAGES"
  done
  # The package ships exim4 setuid root; the test bed starts it as root and
  # never needs a setuid copy lying around.
  chmod u-s "$exim_root.new/usr/sbin/exim4"
  rm -rf "$exim_root"
  mv "$exim_root.new" "$exim_root"
  if ! exim_ready; then
    echo "testbed install: $exim_bin still cannot run:" >&2
    ldd "$exim_bin" >&2 || true
    exit 1
  fi
fi

if ((need_user)); then
  echo "testbed install: creating the system user $exim_user"
  useradd --system --user-group --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin "$exim_user"
fi

echo "testbed install: done"
