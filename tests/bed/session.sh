#!/bin/sh
# Manage sessions of the ubus double (tests/doubles/ubus).
#
#   tests/bed/session.sh <root> <sid> <read 0|1> <write 0|1>   add or replace the session <sid>
#   tests/bed/session.sh <root> --new [ro]                      register a fresh random sid (read+write,
#                                                               or read-only with `ro`) and print it
#   tests/bed/session.sh <root> --delete <sid>                  forget a session (expired/logged out)
#
# State file: <root>/var/run/ubus-double/sessions, lines `<sid 32 hex> <read 0|1> <write 0|1>`.
set -eu

die() { printf 'session.sh: error: %s\n' "$*" >&2; exit 2; }
usage() { die "usage: session.sh <root> <sid> <read 0|1> <write 0|1> | <root> --new [ro] | <root> --delete <sid>"; }

[ $# -ge 2 ] || usage
root=$1
shift
[ -d "$root" ] || die "no such root: $root"
dir="$root/var/run/ubus-double"
file="$dir/sessions"
mkdir -p "$dir"

valid_sid() {
    case $1 in
        *[!0-9a-fA-F]*) return 1 ;;
    esac
    [ ${#1} -eq 32 ]
}

# put SID READ WRITE (READ/WRITE empty = delete)
put() {
    (
        if command -v flock >/dev/null 2>&1; then flock 9; fi
        tmp="$file.tmp.$$"
        : >"$tmp"
        if [ -f "$file" ]; then
            while read -r s r w rest; do
                [ -n "$s" ] || continue
                [ "$s" = "$1" ] && continue
                printf '%s %s %s\n' "$s" "$r" "$w" >>"$tmp"
            done <"$file"
        fi
        [ -z "$2" ] || printf '%s %s %s\n' "$1" "$2" "$3" >>"$tmp"
        mv -f "$tmp" "$file"
    ) 9>>"$dir/.lock"
}

case $1 in
    --new)
        mode=${2:-rw}
        case $mode in
            rw) w=1 ;;
            ro) w=0 ;;
            *) usage ;;
        esac
        sid=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
        valid_sid "$sid" || die "could not generate a sid"
        put "$sid" 1 "$w"
        printf '%s\n' "$sid"
        ;;
    --delete)
        [ $# -eq 2 ] || usage
        put "$2" "" ""
        ;;
    *)
        [ $# -eq 3 ] || usage
        valid_sid "$1" || die "sid must be 32 hex characters: $1"
        case $2$3 in
            00|01|10|11) ;;
            *) die "read and write must be 0 or 1" ;;
        esac
        put "$1" "$2" "$3"
        ;;
esac
