#!/usr/bin/env bash
# Creates, once, the SoftHSM2 token HSM-KMS uses under a data directory:
#   DATA_DIR/softhsm/softhsm2.conf   SoftHSM config pointing at DATA_DIR/softhsm/tokens
#   DATA_DIR/softhsm/user.pin        random user PIN, mode 0600 (the server reads it)
#   DATA_DIR/softhsm/so.pin          random security-officer PIN, mode 0600
# Idempotent: when the token exists it changes nothing. PINs are never printed.
set -euo pipefail
set +x  # never trace: the PINs pass through this script's command lines

if [ $# -ne 1 ]; then
  echo "usage: $0 DATA_DIR" >&2
  exit 2
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
label=hsmkms
mkdir -p "$1"
data_dir=$(cd "$1" && pwd)
hsm_dir="$data_dir/softhsm"
conf="$hsm_dir/softhsm2.conf"
umask 077
mkdir -p "$hsm_dir/tokens"
chmod 700 "$hsm_dir"
# Written aside and renamed: nodes sharing this directory (one token volume, several containers)
# rewrite the file at every start, and another node's SoftHSM may be reading it at that moment.
sed "s#@TOKENDIR@#$hsm_dir/tokens#" "$here/softhsm2.conf.template" > "$conf.$$.tmp"
mv "$conf.$$.tmp" "$conf"
export SOFTHSM2_CONF="$conf"
# Two first starts at once must not initialise two tokens.
exec 9> "$hsm_dir/.init.lock"
flock 9

if softhsm2-util --show-slots 2>/dev/null | grep -Eq "^[[:space:]]*Label:[[:space:]]+${label}[[:space:]]*$"; then
  if [ ! -s "$hsm_dir/user.pin" ]; then
    echo "A token '$label' exists in $hsm_dir/tokens but $hsm_dir/user.pin is missing." >&2
    echo "Restore the PIN file; re-initialising would destroy every key in the token." >&2
    exit 1
  fi
  echo "SoftHSM token '$label' already initialised in $hsm_dir"
else
  # 128-bit random PINs as hex; umask 077 makes the files 0600 from the moment they exist, and the
  # rename makes each appear whole or not at all.
  for name in user so; do
    od -An -tx1 -N16 /dev/urandom | tr -d ' \n' > "$hsm_dir/$name.pin.tmp"
    mv "$hsm_dir/$name.pin.tmp" "$hsm_dir/$name.pin"
  done
  softhsm2-util --init-token --free --label "$label" \
    --so-pin "$(cat "$hsm_dir/so.pin")" --pin "$(cat "$hsm_dir/user.pin")" >/dev/null
  echo "SoftHSM token '$label' initialised in $hsm_dir"
fi
echo "SOFTHSM2_CONF=$conf"
echo "HSMKMS_PIN_FILE=$hsm_dir/user.pin"
