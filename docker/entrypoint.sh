#!/usr/bin/env bash
# Container start: make the SoftHSM token and its PIN on first start (idempotent; several containers
# sharing one token volume make one token), then run the server as PID 1 so SIGTERM stops it cleanly.
set -euo pipefail
data_dir="${HSMKMS_DATA_DIR:-/var/lib/hsmkms}"
/opt/hsmkms/softhsm-config/init-token.sh "$data_dir" >&2
export SOFTHSM2_CONF="$data_dir/softhsm/softhsm2.conf"
if [ -z "${HSMKMS_PIN:-}" ] && [ -z "${HSMKMS_PIN_FILE:-}" ]; then
  export HSMKMS_PIN_FILE="$data_dir/softhsm/user.pin"
fi
# HSMKMS_JAVA_OPTS: extra JVM options (heap size and the like), split on spaces on purpose.
# shellcheck disable=SC2086
exec java ${HSMKMS_JAVA_OPTS:-} -jar /opt/hsmkms/hsmkms-server.jar
