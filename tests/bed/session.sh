#!/bin/sh
# Sessions of a test root's real rpcd (tests/bed/webstack.sh must have started its bus).
#
#   tests/bed/session.sh <root> --new [ro]       log in (root, or viewer with `ro`) and print the sid
#   tests/bed/session.sh <root> --delete <sid>   log out (rpcd `session destroy`)
#
# The logins and their passwords are in tests/bed/rpcd/rpcd.config (copied to <root>/etc/config/rpcd).
# JM_SESSION_TIMEOUT=<s> sets the session's idle timeout (rpcd's default: 300 s).
set -eu

die() { printf 'session.sh: error: %s\n' "$*" >&2; exit 2; }
usage() { die "usage: session.sh <root> --new [ro] | <root> --delete <sid>"; }
here=$(cd "$(dirname "$0")" && pwd)

[ $# -ge 2 ] || usage
root=$1
case $2 in
    --new)
        case ${3:-} in
            '') exec "$here/webstack.sh" login "$root" root jm-admin "${JM_SESSION_TIMEOUT:-}" ;;
            ro) exec "$here/webstack.sh" login "$root" viewer jm-viewer "${JM_SESSION_TIMEOUT:-}" ;;
            *) usage ;;
        esac
        ;;
    --delete)
        [ $# -eq 3 ] || usage
        exec "$here/webstack.sh" logout "$root" "$3"
        ;;
    *) usage ;;
esac
