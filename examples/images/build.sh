#!/usr/bin/env bash
# Builds the example container image localhost/appsd-hello:latest offline: a
# busybox root file system (from Debian's busybox-static) whose httpd serves
# one page on port 8080. No registry is needed.
#   examples/images/build.sh            # as root, or as the user whose podman runs the apps
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
busybox=$(command -v busybox) || { echo "build.sh: busybox is missing (apt-get install busybox-static)" >&2; exit 1; }
command -v podman >/dev/null || { echo "build.sh: podman is missing (apt-get install podman)" >&2; exit 1; }
rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
# /run, /tmp and /var/tmp: with --read-only, podman mounts tmpfs there (and secrets under /run/secrets).
mkdir -p "$rootfs/bin" "$rootfs/www" "$rootfs/run" "$rootfs/tmp" "$rootfs/var/tmp"
cp "$busybox" "$rootfs/bin/busybox"
# sh and its tools for the examples/real-apps scripts.
for applet in sh httpd cat echo sleep test grep id hostname touch mkdir ls nc wget; do ln -s busybox "$rootfs/bin/$applet"; done
cp "$here/index.html" "$rootfs/www/index.html"
# examples/groups: a page that shows what the app reads from its database.
mkdir -p "$rootfs/www-group/cgi-bin"
cp "$here/group-index.cgi" "$rootfs/www-group/cgi-bin/index.cgi"
chmod 755 "$rootfs/www-group/cgi-bin/index.cgi"
tar -C "$rootfs" -c . | podman import --quiet \
  --change 'CMD ["/bin/httpd", "-f", "-p", "8080", "-h", "/www"]' \
  - localhost/appsd-hello:latest >/dev/null
echo "built localhost/appsd-hello:latest"
