#!/usr/bin/env bash
# The Debian package on this machine, as a sysadmin meets it: builds it
# (release build, packaging/deb/build.sh), installs it with dpkg -i, runs
# the installed /usr/bin/smtp-doctor (--version with the commit, a check
# against the real test bed that must pass the relay test), finds its man
# page with man -w, asks bash completion for `smtp-doctor ch<TAB>`, then
# removes it with dpkg -r and checks that its files are gone.
#
#   tests/package/deb_test.sh
#
# Needs root (dpkg -i; installs man-db and bash-completion when missing)
# and a running test bed: tests/run.sh starts it and sets
# SMTP_DOCTOR_TESTBED to its state directory. Every network step stays on
# 127.0.0.0/8 (--dns 127.0.0.2:5353). Prints one closing line
# "deb: N passed, M failed" and exits non-zero on any failure.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
DNS=127.0.0.2:5353

passed=0
failed=0
say() { echo "deb_test: $*" >&2; }
pass() {
  passed=$((passed + 1))
  echo "ok   $1"
}
fail() {
  failed=$((failed + 1))
  echo "FAIL $1"
}
# check "what" command...: one test, passed when the command succeeds.
check() {
  local what=$1
  shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}
close() {
  echo "deb: $passed passed, $failed failed"
  ((failed == 0))
  exit
}

work=$(mktemp -d /tmp/smtp-doctor-deb.XXXXXX)
installed_here=0
cleanup() {
  # A package this script installed does not outlive a failed run.
  if ((installed_here)) && dpkg-query -W smtp-doctor >/dev/null 2>&1; then
    dpkg -r smtp-doctor >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ((EUID != 0)); then
  fail "runs as root (dpkg -i needs it)"
  close
fi
tb="${SMTP_DOCTOR_TESTBED:-}"
if [[ -z "$tb" || ! -f "$tb/ca.pem" ]]; then
  fail "a running test bed (SMTP_DOCTOR_TESTBED=STATE with STATE/ca.pem; tests/run.sh sets it)"
  close
fi

# man -w needs man-db; the completion test needs bash-completion.
missing=()
for p in man-db bash-completion; do
  [[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" == installed ]] || missing+=("$p")
done
if ((${#missing[@]})); then
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >"$work/apt.log" 2>&1
  apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$work/apt.log" 2>&1 ||
    { cat "$work/apt.log" >&2; fail "install ${missing[*]}"; close; }
fi

# A /usr/bin/smtp-doctor that no package owns would be overwritten.
if [[ -e /usr/bin/smtp-doctor ]] && ! dpkg-query -S /usr/bin/smtp-doctor >/dev/null 2>&1; then
  fail "/usr/bin/smtp-doctor exists and belongs to no package: not overwriting it"
  close
fi

# --- build ---------------------------------------------------------------
t0=$(date +%s%N)
if deb=$(bash packaging/deb/build.sh "$work/out" 2>"$work/build.log" | tail -n 1) && [[ -f "$deb" ]]; then
  ms=$((($(date +%s%N) - t0) / 1000000))
  pass "build the package ($(basename "$deb"))"
  say "build took $((ms / 1000)).$(printf %03d $((ms % 1000))) s; package $(stat -c %s "$deb") bytes"
else
  cat "$work/build.log" >&2
  fail "build the package"
  close
fi

contents=$(dpkg-deb --contents "$deb" | awk '{print $NF}')
for f in ./usr/bin/smtp-doctor \
  ./usr/share/man/man1/smtp-doctor.1.gz \
  ./usr/share/man/man1/smtp-doctor-check.1.gz \
  ./usr/share/bash-completion/completions/smtp-doctor \
  ./usr/share/zsh/vendor-completions/_smtp-doctor \
  ./usr/share/fish/vendor_completions.d/smtp-doctor.fish \
  ./usr/share/doc/smtp-doctor/copyright \
  ./usr/share/doc/smtp-doctor/LICENSE-MIT \
  ./usr/share/doc/smtp-doctor/LICENSE-APACHE; do
  check "package holds $f" grep -qxF "$f" <<<"$contents"
done
owners=$(dpkg-deb --contents "$deb" | awk '{print $2}' | sort -u)
check "every file is root/root in the package" test "$owners" = root/root

field() { dpkg-deb --field "$deb" "$1"; }
cargo_version=$(awk '/^\[/ { p = ($0 == "[package]") } p && $1 == "version" { gsub(/"/, "", $3); print $3; exit }' Cargo.toml)
check "Version is Cargo.toml's ($cargo_version)" test "$(field Version)" = "${cargo_version/-/\~}"
check "Architecture is this machine's" test "$(field Architecture)" = "$(dpkg --print-architecture)"
check "Depends names libc6 with a version ($(field Depends))" grep -qE '(^|, )libc6 \(>= [0-9.]+\)' <<<"$(field Depends)"
desc_lines=$(field Description | wc -l)
check "Description has a long description ($desc_lines lines)" test "$desc_lines" -gt 3
for f in Package Maintainer Section Priority Installed-Size; do
  check "control has $f" test -n "$(field "$f")"
done

# --- install -------------------------------------------------------------
# Docker-like images tell dpkg to drop man pages and docs
# (path-exclude=/usr/share/man/*). Then this package's pages and licence
# files are put back with --path-include, and the script says so.
include=()
excludes=$(cat /etc/dpkg/dpkg.cfg /etc/dpkg/dpkg.cfg.d/* 2>/dev/null | grep -E '^[[:space:]]*path-exclude' || true)
if grep -qE '/usr/share/(man|doc)' <<<"$excludes"; then
  say "dpkg on this machine excludes paths: $(tr '\n' ' ' <<<"$excludes")"
  say "installing with --path-include for smtp-doctor's man pages and licence files"
  include=(--path-include='/usr/share/man/man1/smtp-doctor*' --path-include='/usr/share/doc/smtp-doctor/*')
fi
installed_here=1
if dpkg "${include[@]}" -i "$deb" >"$work/dpkg-i.log" 2>&1; then
  pass "dpkg -i"
else
  cat "$work/dpkg-i.log" >&2
  fail "dpkg -i"
  close
fi
check "dpkg says installed" grep -q '^Status: install ok installed' <<<"$(dpkg -s smtp-doctor 2>/dev/null)"
check "dpkg --verify finds every file intact" dpkg --verify smtp-doctor

# --- the installed binary ------------------------------------------------
version_line=$(/usr/bin/smtp-doctor --version 2>&1)
say "installed: $version_line"
if commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null); then
  check "--version shows the commit $commit" test "$version_line" = "smtp-doctor $cargo_version (commit $commit)"
else
  check "--version shows a commit" grep -qE '^smtp-doctor [^ ]+ \(commit [0-9a-f]{7,}\)$' <<<"$version_line"
fi

SMTP_DOCTOR_DEB_PW='Corr3ct-H0rse-Battery' /usr/bin/smtp-doctor check \
  --server mail.smtpd.test --port 587 --security starttls \
  --user alice@smtpd.test --password-env SMTP_DOCTOR_DEB_PW --to someone@example.net \
  --dns "$DNS" --echo-dns "$DNS" --ca-file "$tb/ca.pem" --internal --format json \
  >"$work/check.json" 2>"$work/check.err"
code=$?
check "installed check against the test bed exits 0 (got $code)" test "$code" -eq 0
# The report lists each check as an object whose "id" line is followed by
# its "title" and "status" lines.
relay=$(awk '/"id": "relay"/ { n = 3 } n && /"status":/ { print; exit } n { n-- }' "$work/check.json")
check "relay check passes (${relay//[[:space:]]/})" grep -q '"status": "pass"' <<<"$relay"
if ((failed)); then cat "$work/check.err" >&2; fi

# --- man page ------------------------------------------------------------
page=$(man -w smtp-doctor 2>&1)
check "man -w smtp-doctor finds the page ($page)" test "$page" = /usr/share/man/man1/smtp-doctor.1.gz
check "man -w smtp-doctor-check finds the check page" test "$(man -w smtp-doctor-check 2>&1)" = /usr/share/man/man1/smtp-doctor-check.1.gz
check "the page renders and names the check page" \
  grep -q 'smtp-doctor-check(1)' <<<"$(MANWIDTH=100 man -P cat smtp-doctor 2>/dev/null | sed 's/\x08.//g; s/‐/-/g')"

# --- bash completion -----------------------------------------------------
# As an interactive shell gets it: bash-completion's loader finds the file
# by the command's name in its completions directory.
complete_words() {
  bash --norc --noprofile -c '
    source /usr/share/bash-completion/bash_completion
    if declare -F __load_completion >/dev/null; then __load_completion smtp-doctor
    elif declare -F _completion_loader >/dev/null; then _completion_loader smtp-doctor
    else source /usr/share/bash-completion/completions/smtp-doctor; fi
    spec=$(complete -p smtp-doctor) || exit 3
    fn=$(sed -n "s/.*-F \([^ ]*\).*/\1/p" <<<"$spec")
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
    COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
    "$fn" smtp-doctor "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
    printf "%s\n" "${COMPREPLY[@]}"' bash "$@"
}
offered=$(complete_words smtp-doctor ch)
check "bash completes 'smtp-doctor ch' to check (got: ${offered//$'\n'/ })" grep -qx check <<<"$offered"
offered=$(complete_words smtp-doctor check --password-e)
check "bash completes 'check --password-e' to --password-env" grep -qx -- --password-env <<<"$offered"

# --- remove --------------------------------------------------------------
if dpkg -r smtp-doctor >"$work/dpkg-r.log" 2>&1; then
  pass "dpkg -r"
  installed_here=0
else
  cat "$work/dpkg-r.log" >&2
  fail "dpkg -r"
fi
check "/usr/bin/smtp-doctor is gone" test ! -e /usr/bin/smtp-doctor
check "man page and completions are gone" test ! -e /usr/share/man/man1/smtp-doctor.1.gz \
  -a ! -e /usr/share/bash-completion/completions/smtp-doctor \
  -a ! -e /usr/share/doc/smtp-doctor/copyright
check "dpkg no longer lists it as installed" \
  test "$(dpkg-query -W -f='${db:Status-Status}' smtp-doctor 2>/dev/null)" != installed

close
