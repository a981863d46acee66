#!/usr/bin/env bash
# Installs the mail programs that tests/client_exports.rs drives with the
# settings `smtp-doctor config` prints: msmtp, PHP with PHPMailer, Django,
# Nodemailer (and Postfix's SASL client modules for the relay). Idempotent:
# does nothing when everything is there. Needs root for apt-get.
set -euo pipefail

# Nodemailer goes into a private npm prefix, never into the repository.
node_dir="${SMTP_DOCTOR_CLIENTS_DIR:-/tmp/smtp-doctor-clients}"

need=()
command -v msmtp >/dev/null || need+=(msmtp)
command -v php >/dev/null || need+=(php-cli)
dpkg -s libphp-phpmailer >/dev/null 2>&1 || need+=(libphp-phpmailer)
/usr/bin/python3 -c 'import django' >/dev/null 2>&1 || need+=(python3-django)
dpkg -s libsasl2-modules >/dev/null 2>&1 || need+=(libsasl2-modules)
command -v unshare >/dev/null || need+=(util-linux)
command -v npm >/dev/null || need+=(npm)
if ((${#need[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "clients install: missing ${need[*]}; run as root" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi

if [[ ! -f "$node_dir/node_modules/nodemailer/package.json" ]]; then
  mkdir -p "$node_dir"
  npm install --silent --no-audit --no-fund --prefix "$node_dir" nodemailer >/dev/null
fi
