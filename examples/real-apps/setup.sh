#!/usr/bin/env bash
# What examples/real-apps needs besides its manifests: the image, the podman
# secret, the env file and the credential file. Run as the user whose manager
# runs the apps (root for the system manager); then
#   node dist/cli/main.js apply --apps-dir examples/real-apps
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/../images/build.sh"
if ! podman secret inspect notes-admin-password >/dev/null 2>&1; then
  head -c 18 /dev/urandom | base64 | podman secret create notes-admin-password - >/dev/null
  echo "created the podman secret notes-admin-password"
fi
config="$HOME/.config/appsd-example"
mkdir -p "$config"
[ -f "$config/notes.env" ] || echo 'NOTES_TITLE=My notes' > "$config/notes.env"
if [ ! -f "$config/api-token" ]; then
  (umask 077; head -c 24 /dev/urandom | base64 > "$config/api-token")
  echo "created $config/api-token"
fi
