#!/usr/bin/env bash
# Installs the Debian packages the test tiers need (systemd, D-Bus for the user
# bus, podman and what podman needs on these VMs), when they are missing and we
# can: as root, with apt-get. Elsewhere it lists what is missing; the tiers that
# need it then skip with that reason (and fail under CI=true).
set -euo pipefail

# program -> package
declare -A NEEDS=(
  [systemd-analyze]=systemd
  [systemd]=systemd
  [dbus-daemon]=dbus-daemon
  [podman]=podman
  [runc]=runc
  [iptables]=iptables
  [newuidmap]=uidmap
  [slirp4netns]=slirp4netns
  [busybox]=busybox-static
  [python3]=python3
  [curl]=curl
  [cc]=gcc
  [tar]=tar
)
# Needed but without a program of their own to look for.
EXTRA_PACKAGES=(dbus-user-session netavark aardvark-dns catatonit libc6-dev)

missing=()
for program in "${!NEEDS[@]}"; do
  command -v "$program" >/dev/null 2>&1 || missing+=("${NEEDS[$program]}")
done
for package in "${EXTRA_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${missing[@]}" >/dev/null
  exit 0
fi
echo "install-deps: missing Debian packages: ${missing[*]} (run this script as root to install them)" >&2
if [ "${CI:-}" = true ]; then exit 1; fi
exit 0
