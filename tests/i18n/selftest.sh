#!/usr/bin/env bash
# Proves scripts/i18n.py check fails for each kind of mistake it must catch: on a copy of the
# sources, break one thing at a time and expect a non-zero exit naming the problem.
set -Eeuo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CHECK="$REPO/scripts/i18n.py"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

fresh() {
    rm -rf "$tmp/r" && mkdir -p "$tmp/r/luci"
    cp -R "$REPO/htdocs" "$REPO/po" "$REPO/src" "$tmp/r/"
    cp -R "$REPO/luci/htdocs" "$tmp/r/luci/"
}
expect_fail() { # name, pattern expected in the output
    local out
    if out=$(JM_I18N_ROOT="$tmp/r" python3 "$CHECK" check 2>&1); then
        echo "FAIL: $1: check passed"; fails=$((fails + 1))
    elif ! grep -q -- "$2" <<<"$out"; then
        echo "FAIL: $1: no '$2' in:"; tail -n 3 <<<"$out"; fails=$((fails + 1))
    else
        echo "ok: $1"
    fi
}
po() { echo "$tmp/r/po/$1/jammonitor.po"; }

fresh
JM_I18N_ROOT="$tmp/r" python3 "$CHECK" check >/dev/null || { echo "FAIL: the unmodified copy does not pass"; exit 1; }

fresh; echo "export const x = () => _('A string no template has');" >>"$tmp/r/htdocs/ui.js"
expect_fail 'string used in the code, missing from the template' 'is stale'

fresh; python3 - "$(po de)" <<'PY'
import sys, re
p = sys.argv[1]; s = open(p).read()
s = s.replace('msgid "Cancel"\nmsgstr "Abbrechen"', 'msgid "Cancel"\nmsgstr ""', 1)
open(p, 'w').write(s)
PY
expect_fail 'untranslated string' "'Cancel': untranslated"

fresh; sed -i 's/^msgid "Cancel"$/#, fuzzy\nmsgid "Cancel"/' "$(po fr)"
expect_fail 'fuzzy entry' "'Cancel': fuzzy"

fresh; printf '\n#~ msgid "Gone"\n#~ msgstr "Weg"\n' >>"$(po de)"
expect_fail 'obsolete entry' 'obsolete entry'

fresh; sed -i 's/^msgstr "Annuleren"$/msgstr "Cancel"/' "$(po nl)"
expect_fail 'translation equal to the English' "'Cancel': translation equals the English"

fresh; sed -i 's/^msgstr "{wan} bearbeiten"$/msgstr "{wlan} bearbeiten"/' "$(po de)"
expect_fail 'placeholder differs' 'placeholders'

fresh; sed -i 's/^"Plural-Forms: .*/"Plural-Forms: nplurals=2; plural=(n != 1);\\n"/' "$(po ru)"
expect_fail 'wrong Plural-Forms' 'Plural-Forms is'

fresh; sed -i 's/^msgstr "Отмена"$/msgstr "Отмена\\n"/' "$(po ru)"
expect_fail 'msgfmt -c rejects the file' 'msgfmt -c'

fresh; sed -i 's/^\(msgid "Abbrechen\)/\1/; $a msgid "Not in the code"\nmsgstr "Nicht im Code"' "$(po de)"
expect_fail 'entry no code uses' 'is not used by the code'

fresh; sed -i 's/^\s*busy: gettext_noop(.*$//' "$tmp/r/htdocs/errors.js"
expect_fail 'API error code without a message' "error code 'busy'"

fresh; echo "export const y = () => N_('Not a plural call');" >>"$tmp/r/htdocs/ui.js"
expect_fail "N_ used as a marker" "N_ is LuCI's plural"

fresh; echo "export const z = n => _('{n} things', {n});" >>"$tmp/r/htdocs/ui.js"
expect_fail "placeholder values passed to _()" "use _f"

[ "$fails" = 0 ] || { echo "i18n selftest: $fails failure(s)"; exit 1; }
echo "i18n selftest: every mistake is caught"
