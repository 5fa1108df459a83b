#!/bin/sh
# The till's Debian package from the PyInstaller folder: /opt/counterline (the bundle), /usr/bin/counterline (a
# launcher), a desktop entry and an icon. It runs as an ordinary user: the data, logs and backups go to that user's
# folders (platformdirs), nothing is written under /opt.
#
#   installer/debian/build-deb.sh [BUNDLE_DIR] [OUT_DIR]     (defaults: dist/counterline and dist)
#
# Needs dpkg-deb (Debian/Ubuntu). Tried here: Debian 12 (bookworm), amd64; installed into a scratch root with
# `dpkg -x` by tests/installer/test_bundle.py. Not tried: installing with apt on a desktop, other architectures.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUNDLE=${1:-$ROOT/dist/counterline}
OUT=${2:-$ROOT/dist}
[ -x "$BUNDLE/counterline" ] || { echo "no bundle at $BUNDLE: run make dist (PyInstaller) first" >&2; exit 2; }
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/pyproject.toml" | head -n1)
ARCH=$(dpkg --print-architecture)
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
trap 'exit 1' INT TERM

mkdir -p "$STAGE/DEBIAN" "$STAGE/opt" "$STAGE/usr/bin" "$STAGE/usr/share/applications" \
    "$STAGE/usr/share/icons/hicolor/scalable/apps" "$STAGE/usr/share/doc/counterline"
cp -a "$BUNDLE" "$STAGE/opt/counterline"
cat > "$STAGE/usr/bin/counterline" <<'LAUNCHER'
#!/bin/sh
# Counterline till (the bundle in /opt/counterline); every argument goes to it: counterline --help
exec /opt/counterline/counterline "$@"
LAUNCHER
chmod 0755 "$STAGE/usr/bin/counterline"
install -m 0644 "$HERE/counterline.desktop" "$STAGE/usr/share/applications/counterline.desktop"
install -m 0644 "$ROOT/installer/icons/counterline.svg" "$STAGE/usr/share/icons/hicolor/scalable/apps/counterline.svg"
install -m 0644 "$ROOT/installer/README.md" "$STAGE/usr/share/doc/counterline/README.md"
SIZE=$(du -sk "$STAGE" | cut -f1)
cat > "$STAGE/DEBIAN/control" <<CONTROL
Package: counterline
Version: $VERSION
Architecture: $ARCH
Maintainer: Counterline <support@counterline.invalid>
Installed-Size: $SIZE
Depends: libc6, libzbar0, libegl1, libfontconfig1, libxkbcommon0, libxkbcommon-x11-0, libxcb-cursor0, libxcb-icccm4, libxcb-keysyms1, libxcb-shape0, libdbus-1-3
Section: misc
Priority: optional
Description: Counterline store counter and warehouse bench
 Point of sale, pickup, packing and returns, offline first, with a central store.
CONTROL
mkdir -p "$OUT"
DEB="$OUT/counterline_${VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group -Zgzip --build "$STAGE" "$DEB" >/dev/null
echo "$DEB"
