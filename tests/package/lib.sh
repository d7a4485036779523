# Helpers for the package tests (sourced). Needs: $repo, $tmp, $tools (build/pkgtools/bin).

fail() { echo "package_test: FAIL: $*" >&2; exit 1; }
ok() { echo "package_test: ok: $*"; }

# stub_pkgs DIR: empty packages named as the dependencies the real router has (libc, rpcd,
# uhttpd, luci-base) in both formats, so opkg and apk resolve `Depends` without --force.
stub_pkgs() {
    sd=$1
    mkdir -p "$sd/empty"
    for p in libc rpcd uhttpd luci-base; do
        w=$(mktemp -d)
        mkdir -p "$w/c" "$w/d"
        printf 'Package: %s\nVersion: 1-1\nArchitecture: all\nInstalled-Size: 0\nDescription: stub\n' "$p" >"$w/c/control"
        (cd "$w/c" && tar --owner=0 --group=0 -czf ../control.tar.gz .)
        (cd "$w/d" && tar --owner=0 --group=0 -czf ../data.tar.gz .)
        echo 2.0 >"$w/debian-binary"
        (cd "$w" && tar --owner=0 --group=0 -czf "$sd/${p}_1-1_all.ipk" ./debian-binary ./control.tar.gz ./data.tar.gz)
        "$tools/apk" mkpkg --info "name:$p" --info version:1-r0 --info arch:noarch --info description:stub \
            --files "$sd/empty" --output "$sd/$p-1-r0.apk" >/dev/null
        rm -rf "$w"
    done
}

# copy_bin ROOT FILE…: copies each program and the shared libraries it needs into ROOT (same paths).
copy_bin() {
    cr=$1
    shift
    for b in "$@"; do
        mkdir -p "$cr$(dirname "$b")"
        cp -L "$b" "$cr$b"
        ldd "$b" 2>/dev/null | awk '/=> \// { print $3 } /^\t\/[^ ]+ \(/ { print $1 }' | while read -r l; do
            [ -e "$cr$l" ] && continue
            mkdir -p "$cr$(dirname "$l")"
            cp -L "$l" "$cr$l"
        done
    done
}

# mkrouter ROOT: a minimal chroot standing in for the router's root filesystem: /bin/sh and the
# few programs the maintainer scripts use, the real uci (uci-defaults), LuCI's config, the
# rc.common double (procd), opkg at /bin/opkg and apk at /usr/bin/apk (as on OpenWrt), /tmp and /var/lock.
mkrouter() {
    cr=$1
    mkdir -p "$cr/bin" "$cr/sbin" "$cr/usr/bin" "$cr/etc/config" "$cr/etc/init.d" "$cr/tmp" "$cr/var/lock" \
        "$cr/var/run" "$cr/dev" "$cr/pkgs"
    # opkg unpacks through `gunzip` (busybox on the router)
    copy_bin "$cr" /bin/dash /bin/mkdir /bin/ln /bin/rm /bin/cat /bin/cp /bin/mv /bin/chmod /bin/ls /bin/gzip /bin/gunzip
    ln -sf dash "$cr/bin/sh"
    cp "$tools/opkg" "$cr/bin/opkg"
    copy_bin "$cr" "$tools/apk"
    mv "$cr$tools/apk" "$cr/usr/bin/apk"
    copy_bin "$cr" "$repo/build/uci/bin/uci"
    mv "$cr$repo/build/uci/bin/uci" "$cr/sbin/uci"
    install -m 0755 "$repo/tests/doubles/rc.common" "$cr/etc/rc.common"
    mknod -m 666 "$cr/dev/null" c 1 3
    # luci-base's /etc/config/luci, the part the translation packages write to
    printf "config core 'main'\n\toption lang 'auto'\n\nconfig internal 'languages'\n" >"$cr/etc/config/luci"
    # OpenWrt's /etc/opkg.conf (minus the feed lists) and the architectures as 24.10 writes them
    printf 'dest root /\ndest ram /tmp\nlists_dir ext /var/opkg-lists\noption overlay_root /overlay\n' >"$cr/etc/opkg.conf"
    printf 'arch all 1\narch noarch 1\narch %s 10\n' "$(uname -m)" >>"$cr/etc/opkg.conf"
}

# in_router ROOT CMD…: runs CMD chrooted in ROOT with the router's PATH and no IPKG_INSTROOT.
in_router() {
    cr=$1
    shift
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp chroot "$cr" "$@"
}
