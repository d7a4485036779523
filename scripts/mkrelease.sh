#!/bin/sh
# Writes a release channel for the updater (docs/api.md, "The release index"): <out>/<channel>.json
# listing every package of the given dist folders per architecture and format (arch-independent
# packages are listed under each architecture), its usign signature <channel>.json.sig, and the
# packages themselves beside it (URLs relative to the channel).
#
#   scripts/mkrelease.sh --key release.sec [--channel stable] --out DIR DIST_DIR…
#
# Upload everything in DIR to the place jammonitor.update.url points at.
set -eu
cd "$(dirname "$0")/.."
repo=$(pwd)
die() { echo "mkrelease: $*" >&2; exit 1; }
key="" channel=stable out=""
while [ $# -gt 0 ]; do
    case $1 in
        --key) key=$2; shift 2 ;;
        --channel) channel=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --) shift; break ;;
        -*) die "unknown option $1" ;;
        *) break ;;
    esac
done
[ -n "$key" ] && [ -f "$key" ] || die "--key release.sec (usign secret key) is required"
[ -n "$out" ] || die "--out DIR is required"
[ $# -gt 0 ] || die "no dist folders"
tools=${PKGTOOLS:-$repo/build/pkgtools/bin}
[ -x "$tools/usign" ] && [ -x "$tools/apk" ] || die "tests/bed/build-pkgtools.sh first"
mkdir -p "$out"
for d in "$@"; do
    for f in "$d"/*.ipk "$d"/*.apk; do
        [ -f "$f" ] || continue
        cp "$f" "$out/"
        case $f in
            *.ipk) c=$(tar -xzOf "$f" ./control.tar.gz | tar -xzO ./control)
                   name=$(echo "$c" | sed -n 's/^Package: //p')
                   ver=$(echo "$c" | sed -n 's/^Version: //p')
                   arch=$(echo "$c" | sed -n 's/^Architecture: //p')
                   fmt=ipk ;;
            *.apk) c=$("$tools/apk" adbdump "$f")
                   name=$(echo "$c" | sed -n 's/^  name: //p' | head -n1)
                   ver=$(echo "$c" | sed -n 's/^  version: //p' | head -n1 | sed 's/-r\([0-9]*\)$/-\1/')
                   arch=$(echo "$c" | sed -n 's/^  arch: //p' | head -n1)
                   [ "$arch" != noarch ] || arch=all
                   fmt=apk ;;
        esac
        echo "$fmt $arch $name $ver $(basename "$f") $(sha256sum "$f" | cut -d' ' -f1) $(wc -c <"$f")"
    done
done >"$out/.list"
python3 - "$out/.list" "$channel" >"$out/$channel.json" <<'PY'
import json, sys, datetime, os
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
versions = {r[3] for r in rows}
if len(versions) != 1:
    sys.exit(f"mkrelease: packages of several versions: {sorted(versions)}")
archs = sorted({r[1] for r in rows if r[1] != "all"})
if not archs:
    sys.exit("mkrelease: no architecture-specific jammonitor package")
pk = {}
for a in archs:
    for fmt in ("ipk", "apk"):
        lst = [{"name": r[2], "url": r[4], "sha256": r[5], "size": int(r[6])}
               for r in rows if r[0] == fmt and r[1] in (a, "all")]
        if any(p["name"] == "jammonitor" for p in lst):
            pk.setdefault(a, {})[fmt] = sorted(lst, key=lambda p: (p["name"] != "jammonitor", p["name"]))
epoch = int(os.environ.get("SOURCE_DATE_EPOCH") or 0) or None
when = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc) if epoch else datetime.datetime.now(datetime.timezone.utc)
print(json.dumps({"format": 1, "version": versions.pop(), "channel": sys.argv[2],
                  "released": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "packages": pk}, indent=1))
PY
rm -f "$out/.list"
"$tools/usign" -S -m "$out/$channel.json" -s "$key" -x "$out/$channel.json.sig"
echo "$out/$channel.json (signed by $("$tools/usign" -F -s "$key"))"
