#!/bin/sh
# examples/groups: busybox httpd runs this for GET / (no index.html). Each
# request reads a value from the database app, reached by its app name on
# appsd's podman network.
value=$(nc "${DB_HOST:-db}" "${DB_PORT:-6379}" </dev/null)
printf 'Content-Type: text/plain\r\n\r\n'
echo "web read from ${DB_HOST:-db}: ${value:-nothing (is the database up?)}"
