#!/usr/bin/env bash
# Builds the Debian package of smtp-doctor from this checkout:
#
#   bash packaging/deb/build.sh [OUT_DIR]
#
# A release build (cargo build --release --locked), then a staging tree put
# together here and packed with dpkg-deb; nothing beyond cargo, dpkg-deb,
# gzip and (for the Depends field) dpkg-shlibdeps or readelf is needed.
# The .deb goes to OUT_DIR (default: $CARGO_TARGET_DIR/debian, or
# target/debian); its path is the last line printed.
#
# The package holds:
#   /usr/bin/smtp-doctor
#   /usr/share/man/man1/smtp-doctor.1.gz, smtp-doctor-COMMAND.1.gz
#   /usr/share/bash-completion/completions/smtp-doctor
#   /usr/share/zsh/vendor-completions/_smtp-doctor
#   /usr/share/fish/vendor_completions.d/smtp-doctor.fish
#   /usr/share/doc/smtp-doctor/{copyright,LICENSE-MIT,LICENSE-APACHE}
# The pages and completions come from the built binary itself
# (`smtp-doctor man --out-dir`, `smtp-doctor completions SHELL`), so they
# always match its command line.
#
# DEB_MAINTAINER overrides the Maintainer field.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"
out="${1:-$target/debian}"
maintainer="${DEB_MAINTAINER:-smtp-doctor developers <maintainers@smtp-doctor.invalid>}"

say() { echo "deb build: $*" >&2; }
die() {
  say "$*"
  exit 1
}

for tool in cargo dpkg dpkg-deb gzip install; do
  command -v "$tool" >/dev/null || die "$tool is missing"
done

# The version of the [package] section; a Cargo pre-release (1.0.0-rc.1)
# sorts before its release in Debian only with a tilde (1.0.0~rc.1).
cargo_version=$(awk '
  /^\[/ { in_pkg = ($0 == "[package]") }
  in_pkg && $1 == "version" { gsub(/"/, "", $3); print $3; exit }' Cargo.toml)
[[ -n "$cargo_version" ]] || die "no version in the [package] section of Cargo.toml"
version="${cargo_version/-/\~}"
arch=$(dpkg --print-architecture)

# Reproducible timestamps inside the package: the commit's time.
if [[ -z "${SOURCE_DATE_EPOCH:-}" ]]; then
  SOURCE_DATE_EPOCH=$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)
fi
export SOURCE_DATE_EPOCH

say "cargo build --release (version $version, $arch)"
cargo build --release --locked --bin smtp-doctor
bin="$target/release/smtp-doctor"
[[ -x "$bin" ]] || die "no binary at $bin after the build"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
pkg="$stage/pkg"
share="$pkg/usr/share"
install -d -m 0755 "$pkg/DEBIAN" "$pkg/usr/bin" "$share/man/man1" \
  "$share/bash-completion/completions" "$share/zsh/vendor-completions" \
  "$share/fish/vendor_completions.d" "$share/doc/smtp-doctor"

install -m 0755 "$bin" "$pkg/usr/bin/smtp-doctor"

"$bin" man --out-dir "$share/man/man1"
[[ -s "$share/man/man1/smtp-doctor.1" ]] || die "smtp-doctor man wrote no main page"
chmod 0644 "$share/man/man1"/*.1
gzip -9 -n "$share/man/man1"/*.1

"$bin" completions bash >"$share/bash-completion/completions/smtp-doctor"
"$bin" completions zsh >"$share/zsh/vendor-completions/_smtp-doctor"
"$bin" completions fish >"$share/fish/vendor_completions.d/smtp-doctor.fish"
chmod 0644 "$share/bash-completion/completions/smtp-doctor" \
  "$share/zsh/vendor-completions/_smtp-doctor" \
  "$share/fish/vendor_completions.d/smtp-doctor.fish"

install -m 0644 packaging/deb/copyright LICENSE-MIT LICENSE-APACHE "$share/doc/smtp-doctor/"

# Depends: from the shared libraries the binary links (libc, libgcc_s…).
# dpkg-shlibdeps (dpkg-dev) knows each library's package and the lowest
# version that has every symbol used; without it, readelf gives the
# libraries and the newest glibc symbol version the binary needs.
depends=""
if command -v dpkg-shlibdeps >/dev/null; then
  mkdir -p "$stage/src/debian"
  printf 'Source: smtp-doctor\n\nPackage: smtp-doctor\nArchitecture: any\n' \
    >"$stage/src/debian/control"
  depends=$(cd "$stage/src" && dpkg-shlibdeps -O -e "$pkg/usr/bin/smtp-doctor" 2>/dev/null |
    sed -n 's/^shlibs:Depends=//p') || depends=""
fi
if [[ -z "$depends" ]]; then
  command -v readelf >/dev/null || die "neither dpkg-shlibdeps (dpkg-dev) nor readelf (binutils) is installed"
  glibc=$(readelf -W --version-info "$pkg/usr/bin/smtp-doctor" |
    grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -n 1)
  depends="libc6${glibc:+ (>= $glibc)}"
  if readelf -d "$pkg/usr/bin/smtp-doctor" | grep -q 'NEEDED.*libgcc_s\.so\.1'; then
    depends="$depends, libgcc-s1"
  fi
fi
say "Depends: $depends"

installed_size=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
cat >"$pkg/DEBIAN/control" <<EOF
Package: smtp-doctor
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $installed_size
Depends: $depends
Section: mail
Priority: optional
Description: find out why a mail client or device cannot send mail
 smtp-doctor checks an outgoing (SMTP) mail server the way a mail program
 uses it: it resolves the server name, opens the port, reads the greeting,
 switches on encryption and checks the certificate, logs in, and asks the
 server to take a message for an outside address without sending one. It
 also looks at the ports 25, 465, 587 and 2525, the sender domain's SPF and
 DMARC records, the recipient domain's MX and the reverse DNS of this
 network's public address.
 .
 From the server's replies it tells, in plain words, the most likely cause
 of the failure ("Relay access denied", a wrong password, a blocked port, an
 untrusted certificate...) and what to change, with the exact replies as
 evidence for a support ticket. It runs as a guided full-screen terminal
 application or as a command (smtp-doctor check) with text, Markdown or JSON
 reports. Passwords never appear in any output.
EOF
chmod 0644 "$pkg/DEBIAN/control"
(cd "$pkg" && find usr -type f -print0 | sort -z | xargs -0 md5sum) >"$pkg/DEBIAN/md5sums"
chmod 0644 "$pkg/DEBIAN/md5sums"

mkdir -p "$out"
deb="$out/smtp-doctor_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >&2
say "$(du -k "$deb" | cut -f1) KiB, installed $installed_size KiB"
echo "$deb"
