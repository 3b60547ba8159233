#!/usr/bin/env bash
# Installs the Debian packages the test tiers need (systemd, D-Bus for the user
# bus, podman and what podman needs on these VMs), when they are missing and we
# can: as root, with apt-get. Elsewhere it lists what is missing; the tiers that
# need it then skip with that reason (and fail under CI=true).
set -euo pipefail

# program -> package (ab is the load generator of `npm run bench`)
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
  [prometheus]=prometheus
  [promtool]=prometheus
  [ab]=apache2-utils
)
# Packages that come with a service of their own, which the tests start
# themselves (the metrics tier runs prometheus on a loopback port): installed
# without their recommends (prometheus recommends its node exporter, another
# service) and with every service start denied, so none is left running.
SERVICE_PACKAGES=(prometheus)
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
  plain=() services=()
  for package in "${missing[@]}"; do
    if printf '%s\n' "${SERVICE_PACKAGES[@]}" | grep -qxF "$package"; then services+=("$package"); else plain+=("$package"); fi
  done
  [ ${#plain[@]} -eq 0 ] || apt-get install -y -qq "${plain[@]}" >/dev/null
  if [ ${#services[@]} -gt 0 ]; then
    # Where systemd is not PID 1, a postinst starts its service with
    # invoke-rc.d through the package's init script; a policy-rc.d that
    # answers 101 denies it. One that already denies (container images have
    # one) stays; any other is set aside for the install and put back.
    policy=/usr/sbin/policy-rc.d
    if ! { [ -x "$policy" ] && { "$policy" prometheus start >/dev/null 2>&1; [ $? -eq 101 ]; }; }; then
      if [ -e "$policy" ]; then mv "$policy" "$policy.appsd-saved"; fi
      trap 'rm -f "$policy"; if [ -e "$policy.appsd-saved" ]; then mv "$policy.appsd-saved" "$policy"; fi' EXIT
      printf '#!/bin/sh\n# appsd install-deps: no service starts while installing\nexit 101\n' >"$policy"
      chmod 755 "$policy"
    fi
    apt-get install -y -qq --no-install-recommends "${services[@]}" >/dev/null
  fi
  exit 0
fi
echo "install-deps: missing Debian packages: ${missing[*]} (run this script as root to install them)" >&2
if [ "${CI:-}" = true ]; then exit 1; fi
exit 0
