#!/bin/sh
# The central store's Debian package from its PyInstaller folder: /opt/counterline-central (the bundle, with
# bin/counterline-central for the unit and the operator), /usr/bin/counterline-central, the systemd unit, the
# expire-orders timer and its one-shot service, its system user (sysusers.d) and /etc/counterline/central.env (a
# conffile: an upgrade keeps the office's settings). The service and the timer are enabled and started on install,
# restarted on upgrade (serve migrates the database first).
#
#   installer/central/build-central-deb.sh [BUNDLE_DIR] [OUT_DIR]   (defaults: dist/counterline-central and dist)
#
# Tried here: built on Debian 12 amd64 and unpacked into a scratch root by tests/installer/test_central_service.py.
# Not tried: `apt install` on a machine running systemd (this container has no systemd as PID 1).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUNDLE=${1:-$ROOT/dist/counterline-central}
OUT=${2:-$ROOT/dist}
[ -x "$BUNDLE/counterline-central" ] || { echo "no bundle at $BUNDLE: run make dist first" >&2; exit 2; }
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/pyproject.toml" | head -n1)
ARCH=$(dpkg --print-architecture)
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
trap 'exit 1' INT TERM

mkdir -p "$STAGE/DEBIAN" "$STAGE/opt" "$STAGE/usr/bin" "$STAGE/lib/systemd/system" "$STAGE/usr/lib/sysusers.d" \
    "$STAGE/etc/counterline" "$STAGE/usr/share/doc/counterline-central"
mkdir -p "$STAGE/opt/counterline-central"
cp -a "$BUNDLE" "$STAGE/opt/counterline-central/lib"
mkdir -p "$STAGE/opt/counterline-central/bin"
ln -s ../lib/counterline-central "$STAGE/opt/counterline-central/bin/counterline-central"
ln -s /opt/counterline-central/bin/counterline-central "$STAGE/usr/bin/counterline-central"
install -m 0644 "$HERE/counterline-central.service" "$STAGE/lib/systemd/system/counterline-central.service"
for unit in counterline-central-expire-orders.service counterline-central-expire-orders.timer; do
    install -m 0644 "$HERE/$unit" "$STAGE/lib/systemd/system/$unit"
done
install -m 0644 "$HERE/counterline-central.sysusers" "$STAGE/usr/lib/sysusers.d/counterline-central.conf"
install -m 0640 "$HERE/central.env" "$STAGE/etc/counterline/central.env"
install -m 0644 "$ROOT/installer/README.md" "$STAGE/usr/share/doc/counterline-central/README.md"
echo /etc/counterline/central.env > "$STAGE/DEBIAN/conffiles"
cat > "$STAGE/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
    systemd-sysusers counterline-central.conf 2>/dev/null || systemd-sysusers
    chgrp counterline-central /etc/counterline/central.env
    chmod 0640 /etc/counterline/central.env
    if [ -d /run/systemd/system ]; then
        systemctl daemon-reload
        systemctl enable counterline-central.service
        systemctl restart counterline-central.service
        systemctl enable counterline-central-expire-orders.timer
        systemctl restart counterline-central-expire-orders.timer
    fi
fi
POSTINST
cat > "$STAGE/DEBIAN/prerm" <<'PRERM'
#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
    systemctl disable --now counterline-central-expire-orders.timer || true
    systemctl disable --now counterline-central.service || true
fi
PRERM
chmod 0755 "$STAGE/DEBIAN/postinst" "$STAGE/DEBIAN/prerm"
SIZE=$(du -sk "$STAGE" | cut -f1)
cat > "$STAGE/DEBIAN/control" <<CONTROL
Package: counterline-central
Version: $VERSION
Architecture: $ARCH
Maintainer: Counterline <support@counterline.invalid>
Installed-Size: $SIZE
Depends: libc6, systemd
Section: misc
Priority: optional
Description: Counterline central store service
 The central store of a Counterline chain: sync, catalog, stock and orders, as a systemd service.
CONTROL
mkdir -p "$OUT"
DEB="$OUT/counterline-central_${VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group -Zgzip --build "$STAGE" "$DEB" >/dev/null
echo "$DEB"
