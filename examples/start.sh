#!/usr/bin/env bash
# npm start: appsd watch on this repository's apps.d. Where no systemd user
# manager is reachable (a container, a fresh VM), appsd starts a private one
# for the session (--sandbox); Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
# As root on a fresh Debian machine: the packages the examples need (podman,
# busybox for the example image, ...), installed once; a no-op afterwards.
if [ "$(id -u)" -eq 0 ]; then bash test/setup/install-deps.sh || true; fi
if command -v podman >/dev/null 2>&1 && command -v busybox >/dev/null 2>&1; then
  examples/images/build.sh >/dev/null || echo "npm start: could not build the example image; apps.d/hello-container.yaml will not start" >&2
  # On VMs where podman's default runtime cannot run containers (hybrid
  # cgroups), use the settings in examples/containers.conf.
  if [ -z "${CONTAINERS_CONF:-}" ] && ! podman run --rm --network none localhost/appsd-hello:latest sh -c : >/dev/null 2>&1; then
    export CONTAINERS_CONF="$PWD/examples/containers.conf"
  fi
else
  echo "npm start: podman or busybox is missing (apt-get install podman busybox-static); apps.d/hello-container.yaml will not start" >&2
fi
APPSD_SANDBOX=auto exec node dist/cli/main.js watch --apps-dir apps.d "$@"
