#!/bin/sh
# Installs Sunlight's systemd kit on this host:
#
#   the system user and group `sunlight` (no home, no shell)
#   /etc/sunlight                root:sunlight    0750
#   /etc/sunlight/sunlight.toml  root:sunlight    0640  (once; never overwritten)
#   /etc/sunlight/intake.env     root:root        0600  (once; database URL of intake)
#   /etc/sunlight/triage.env     root:root        0600  (once; owner role, SMTP URL)
#   /etc/sunlight/calendars      root:sunlight    0750  (official holiday files)
#   /var/lib/sunlight            sunlight:sunlight 0700 (the data folder)
#   /var/backups/sunlight        sunlight:sunlight 0700 (the backup timer's files)
#   /usr/local/bin/sunlight, /usr/local/sbin/sunlight-admin, and the units
#   sunlight-intake.service, sunlight-triage.service, sunlight-backup.service
#   and sunlight-backup.timer in /etc/systemd/system
#
# Idempotent: run it again after building a new binary. It replaces the
# binary, sunlight-admin and the units, puts owners and modes right, and
# never touches the configuration's contents, the environment files'
# contents or any data. It starts nothing and runs no `init`
# (docs/operations.md, "Install without containers (systemd)").
#
#   sudo SUNLIGHT_BIN=target/release/sunlight deploy/systemd/install.sh
#
# ROOT (default /) installs under another root instead, e.g. an image being
# built, or CI's scratch folder (tests/tests/deploy.rs); systemctl is then
# not called. SUNLIGHT_BIN (default target/release/sunlight of this
# checkout) is the binary to install.
set -eu

ROOT=${ROOT:-/}
kit=$(cd "$(dirname "$0")" && pwd)
SUNLIGHT_BIN=${SUNLIGHT_BIN:-$kit/../../target/release/sunlight}
# "" for "/", so that "$root/etc" is "/etc".
root=${ROOT%/}

if [ "$(id -u)" != 0 ]; then
  echo "install.sh: run as root" >&2
  exit 1
fi
if [ ! -x "$SUNLIGHT_BIN" ]; then
  echo "install.sh: no executable at $SUNLIGHT_BIN: run \`cargo build --release -p sunlight\`, or set SUNLIGHT_BIN" >&2
  exit 1
fi
umask 022

# The system user and its group. Under another ROOT, useradd works on that
# root's /etc files (--prefix), not on this host's.
mkdir -p "$root/etc"
if ! grep -q '^sunlight:' "$root/etc/passwd" 2>/dev/null; then
  if grep -q '^sunlight:' "$root/etc/group" 2>/dev/null; then
    group_opt="--gid sunlight"
  else
    group_opt="--user-group"
  fi
  prefix_opt=""
  if [ -n "$root" ]; then
    prefix_opt="--prefix $root"
  fi
  # shellcheck disable=SC2086 # the options are single words or empty
  useradd $prefix_opt --system $group_opt --home-dir /var/lib/sunlight \
    --no-create-home --shell /usr/sbin/nologin --comment "Sunlight" sunlight
fi
# Numeric ids from that root's own files: the user may not exist on this
# host at all (a scratch root).
uid=$(awk -F: '$1 == "sunlight" { print $3 }' "$root/etc/passwd")
gid=$(awk -F: '$1 == "sunlight" { print $4 }' "$root/etc/passwd")
if [ -z "$uid" ] || [ -z "$gid" ]; then
  echo "install.sh: no sunlight user in $root/etc/passwd after useradd" >&2
  exit 1
fi

# mode owner:group path: created if missing; owner and mode set either way
# (this also mends the root:root /etc/sunlight of older instructions).
folder() {
  mkdir -p "$root$3"
  chown "$2" "$root$3"
  chmod "$1" "$root$3"
}
folder 0750 "0:$gid" /etc/sunlight
folder 0750 "0:$gid" /etc/sunlight/calendars
folder 0700 "$uid:$gid" /var/lib/sunlight
folder 0700 "$uid:$gid" /var/backups/sunlight

# The configuration: readable by the service user, writable by root only.
config="$root/etc/sunlight/sunlight.toml"
if [ ! -e "$config" ]; then
  cp "$kit/sunlight.toml" "$config"
fi
chown "0:$gid" "$config"
chmod 0640 "$config"

# Secrets for one unit each, read by systemd as root before it drops
# privileges (EnvironmentFile=): the service user cannot read them.
env_file() {
  file="$root/etc/sunlight/$1.env"
  if [ ! -e "$file" ]; then
    cat > "$file"
  else
    cat > /dev/null
  fi
  chown 0:0 "$file"
  chmod 0600 "$file"
}
env_file intake <<'EOF'
# Environment of sunlight-intake.service, read by systemd as root (this file
# is root's only). KEY=value lines; put a value holding spaces or shell
# characters in single quotes.
#
# PostgreSQL: the restricted role of deploy/postgres/intake-role.sql.
#SUNLIGHT_DATABASE_URL=postgres://sunlight_intake:PASSWORD@127.0.0.1:5432/sunlight
EOF
env_file triage <<'EOF'
# Environment of sunlight-triage.service, sunlight-backup.service and
# sunlight-admin, read as root (this file is root's only). KEY=value lines;
# put a value holding spaces or shell characters in single quotes.
#
# PostgreSQL: the role that owns the schema (it runs the migrations).
#SUNLIGHT_DATABASE_URL=postgres://sunlight:PASSWORD@127.0.0.1:5432/sunlight
# Staff mail through a relay (unset: .eml files under /var/lib/sunlight/mail).
#SUNLIGHT_SMTP_URL=smtps://sunlight:PASSWORD@mail.example.org:465
EOF

# The binary, the admin wrapper and the units.
mkdir -p "$root/usr/local/bin" "$root/usr/local/sbin" "$root/etc/systemd/system"
install -m 0755 -o 0 -g 0 "$SUNLIGHT_BIN" "$root/usr/local/bin/sunlight"
install -m 0755 -o 0 -g 0 "$kit/sunlight-admin" "$root/usr/local/sbin/sunlight-admin"
for unit in sunlight-intake.service sunlight-triage.service \
  sunlight-backup.service sunlight-backup.timer; do
  install -m 0644 -o 0 -g 0 "$kit/$unit" "$root/etc/systemd/system/$unit"
done

# The all-in-one unit of older kits ran `sunlight serve`, which is for
# trying Sunlight only; it would also hold both ports.
if [ -e "$root/etc/systemd/system/sunlight.service" ]; then
  echo "install.sh: $root/etc/systemd/system/sunlight.service (sunlight serve) is from an older kit:" >&2
  echo "  systemctl disable --now sunlight.service && rm $root/etc/systemd/system/sunlight.service" >&2
fi

if [ -z "$root" ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
fi

echo "installed under $ROOT: user sunlight ($uid:$gid), /etc/sunlight, /var/lib/sunlight, /var/backups/sunlight, the binary and the units"
echo "next: edit /etc/sunlight/sunlight.toml (and intake.env, triage.env for PostgreSQL),"
echo "      sudo sunlight-admin init --unit-id … --unit-name … --admin-email …   (on a terminal),"
echo "      systemctl enable --now sunlight-triage sunlight-intake sunlight-backup.timer"
