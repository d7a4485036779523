#!/usr/bin/env python3
"""Translations the OpenWrt way: gettext .pot/.po under po/, compact JSON catalogues for the page.

  scripts/i18n.py update        extract the strings of the code into po/templates/jammonitor.pot and
                                bring every po/<lang>/jammonitor.po in line with it (new strings get
                                an empty msgstr, strings no code uses any more are dropped)
  scripts/i18n.py check         fail (exit 1) when the template is stale, a .po lacks a translation,
                                has fuzzy/obsolete/extra entries, a translation equals the English
                                (unless po/same-as-english.txt allows it), placeholders differ,
                                `msgfmt -c` complains, the Plural-Forms header is wrong, or an API
                                error code of src/ has no message in htdocs/errors.js
  scripts/i18n.py catalogues [DIR]
                                write DIR/<code>.json (default htdocs/i18n) from the .po files: what
                                the page loads (msgid → msgstr; plural forms as arrays; "" → formula)
  scripts/i18n.py fill FILE...  put translations from table files into the .po files (a helper for
                                writing many at once): "= <English msgid>" starts an entry, then one
                                "<lang> <translation>" line per language (lang = po folder name;
                                "*" = every language without a line of its own)
  scripts/i18n.py missing [LANG] list msgids without a translation

What the code marks (see htdocs/i18n.js): _('…'[, 'context']), _f('…', {…}), gettext_noop('…'),
N_(n, '…', '…'[, 'context']). Only string literals are extracted; anything else is an error here.
Python 3 only (the OpenWrt build host has it), gettext's msgfmt for the check.
"""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

# JM_I18N_ROOT: run on a copy (tests/i18n/selftest.sh breaks one thing at a time there).
REPO = Path(os.environ.get('JM_I18N_ROOT') or Path(__file__).resolve().parent.parent)
PO_DIR = REPO / 'po'
POT = PO_DIR / 'templates' / 'jammonitor.pot'
SAME = PO_DIR / 'same-as-english.txt'
SOURCES = [REPO / 'htdocs', REPO / 'luci' / 'htdocs']
SKIP_DIRS = {'vendor', 'i18n'}
ERRORS_JS = REPO / 'htdocs' / 'errors.js'

# po folder (LuCI's name) → page code (BCP 47), Plural-Forms. English is the source language.
LANGS = {
    'zh_Hans': ('zh-Hans', 'nplurals=1; plural=0;'),
    'zh_Hant': ('zh-Hant', 'nplurals=1; plural=0;'),
    'es': ('es', 'nplurals=2; plural=(n != 1);'),
    'de': ('de', 'nplurals=2; plural=(n != 1);'),
    'fr': ('fr', 'nplurals=2; plural=(n > 1);'),
    'pt_BR': ('pt-BR', 'nplurals=2; plural=(n > 1);'),
    'ru': ('ru', 'nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);'),
    'ja': ('ja', 'nplurals=1; plural=0;'),
    'it': ('it', 'nplurals=2; plural=(n != 1);'),
    'nl': ('nl', 'nplurals=2; plural=(n != 1);'),
    'pl': ('pl', 'nplurals=3; plural=(n==1 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);'),
    'ko': ('ko', 'nplurals=1; plural=0;'),
    'tr': ('tr', 'nplurals=2; plural=(n != 1);'),
    'vi': ('vi', 'nplurals=1; plural=0;'),
    'ar': ('ar', 'nplurals=6; plural=(n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3 : n%100>=11 ? 4 : 5);'),
    'th': ('th', 'nplurals=1; plural=0;'),
    'id': ('id', 'nplurals=1; plural=0;'),
    'cs': ('cs', 'nplurals=3; plural=(n==1 ? 0 : n>=2 && n<=4 ? 1 : 2);'),
    'sv': ('sv', 'nplurals=2; plural=(n != 1);'),
    'el': ('el', 'nplurals=2; plural=(n != 1);'),
    'uk': ('uk', 'nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);'),
}

LIT = r"""('(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")"""
RE_UNDERSCORE = re.compile(r"(?<![\w.$])_\(\s*" + LIT + r"\s*(?:,\s*" + LIT + r"\s*)?([,)+])")
RE_OLD_ARGS = re.compile(r"(?<![\w.$])_\(\s*" + LIT + r"\s*,\s*\{")
RE_F = re.compile(r"(?<![\w.$])_f\(\s*" + LIT + r"\s*([,)+])")
RE_NOOP = re.compile(r"(?<![\w.$])gettext_noop\(\s*" + LIT + r"\s*([)+])")
RE_PLURAL = re.compile(r"(?<![\w.$])N_\(\s*[^,()'\"]+(?:\([^()]*\))?\s*,\s*" + LIT + r"\s*,\s*" + LIT + r"\s*(?:,\s*" + LIT + r"\s*)?\)")
RE_ANY_CALL = re.compile(r"(?<![\w.$])(_|_f|gettext_noop|N_)\(")
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def js_unescape(lit):
    body = lit[1:-1]
    out, i = [], 0
    while i < len(body):
        c = body[i]
        if c == '\\' and i + 1 < len(body):
            n = body[i + 1]
            if n == 'n':
                out.append('\n')
            elif n == 't':
                out.append('\t')
            elif n == 'u' and re.match(r'[0-9a-fA-F]{4}', body[i + 2:i + 6]):
                out.append(chr(int(body[i + 2:i + 6], 16)))
                i += 4
            else:
                out.append(n)
            i += 2
            continue
        out.append(c)
        i += 1
    return ''.join(out)


def js_files():
    for base in SOURCES:
        for root, dirs, files in os.walk(base):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
            for f in sorted(files):
                if f.endswith('.js'):
                    yield Path(root) / f


def extract():
    """→ ({(ctx, msgid): {'plural': str|None, 'refs': [..]}}, [errors])"""
    entries, errors = {}, []

    def add(ctx, msgid, plural, ref):
        if msgid == '':
            errors.append(f'{ref}: empty msgid')
            return
        e = entries.setdefault((ctx, msgid), {'plural': None, 'refs': []})
        if plural is not None:
            if e['plural'] not in (None, plural):
                errors.append(f'{ref}: {msgid!r} used with two plural forms')
            e['plural'] = plural
        # File only: line numbers would make the template stale on every unrelated edit.
        f = ref.rsplit(':', 1)[0]
        if f not in e['refs']:
            e['refs'].append(f)

    for path in js_files():
        text = path.read_text(encoding='utf-8')
        rel = path.relative_to(REPO).as_posix()
        line_of = lambda pos: text.count('\n', 0, pos) + 1
        seen = set()
        for m in RE_OLD_ARGS.finditer(text):
            errors.append(f'{rel}:{line_of(m.start())}: _() takes a context, not placeholder values: use _f(\'…\', {{…}})')
        for m in RE_UNDERSCORE.finditer(text):
            ref = f'{rel}:{line_of(m.start())}'
            if m.group(3) == '+':
                errors.append(f'{ref}: _() of a concatenation: use one literal (or _f with placeholders)')
            add(js_unescape(m.group(2)) if m.group(2) else None, js_unescape(m.group(1)), None, ref)
            seen.add(m.start())
        for m in RE_F.finditer(text):
            ref = f'{rel}:{line_of(m.start())}'
            if m.group(2) == '+':
                errors.append(f'{ref}: _f() of a concatenation: use one literal')
            add(None, js_unescape(m.group(1)), None, ref)
            seen.add(m.start())
        for m in RE_NOOP.finditer(text):
            ref = f'{rel}:{line_of(m.start())}'
            if m.group(2) == '+':
                errors.append(f'{ref}: gettext_noop() of a concatenation: use one literal')
            add(None, js_unescape(m.group(1)), None, ref)
            seen.add(m.start())
        for m in RE_PLURAL.finditer(text):
            ref = f'{rel}:{line_of(m.start())}'
            add(js_unescape(m.group(3)) if m.group(3) else None, js_unescape(m.group(1)), js_unescape(m.group(2)), ref)
            seen.add(m.start())
        # Calls with a literal we could not read are mistakes (a variable first argument is fine:
        # it carries a gettext_noop'd string).
        for m in RE_ANY_CALL.finditer(text):
            if m.start() in seen:
                continue
            rest = text[m.end():m.end() + 200].lstrip()
            name = m.group(1)
            if name == 'N_' and rest[:1] in '\'"':
                errors.append(f'{rel}:{line_of(m.start())}: N_ is LuCI\'s plural, N_(n, singular, plural): use gettext_noop() to mark a string')
            elif name != 'N_' and rest[:1] in '\'"`':
                errors.append(f'{rel}:{line_of(m.start())}: {name}() call not understood by the extractor (one string literal first, no template literal)')
    return entries, errors


def po_quote(s):
    return '"' + s.replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n').replace('\t', '\\t') + '"'


def po_unquote(s):
    s = s.strip()
    assert s.startswith('"') and s.endswith('"'), s
    body, out, i = s[1:-1], [], 0
    while i < len(body):
        c = body[i]
        if c == '\\':
            assert i + 1 < len(body), s
            n = body[i + 1]
            out.append({'n': '\n', 't': '\t'}.get(n, n))
            i += 2
        else:
            out.append(c)
            i += 1
    return ''.join(out)


def render_pot(entries):
    out = ['msgid ""', 'msgstr "Content-Type: text/plain; charset=UTF-8\\n"', '']
    for key in sorted(entries, key=lambda k: (k[1], k[0] or '')):
        ctx, msgid = key
        e = entries[key]
        out.extend(render_entry(ctx, msgid, e['plural'], None, refs=e['refs']))
    return '\n'.join(out)


def render_entry(ctx, msgid, plural, msgstr, refs=(), nplurals=2):
    out = []
    for r in refs:
        out.append('#: ' + r)
    if PLACEHOLDER.search(msgid) or (plural and PLACEHOLDER.search(plural)):
        out.append('#, python-brace-format')
    if ctx is not None:
        out.append('msgctxt ' + po_quote(ctx))
    out.append('msgid ' + po_quote(msgid))
    if plural is not None:
        out.append('msgid_plural ' + po_quote(plural))
        forms = msgstr if isinstance(msgstr, list) else []
        for i in range(nplurals):
            out.append(f'msgstr[{i}] ' + po_quote(forms[i] if i < len(forms) else ''))
    else:
        out.append('msgstr ' + po_quote(msgstr or ''))
    out.append('')
    return out


def parse_po(path):
    """→ (header dict, {(ctx, msgid): {...}}, [problems]). Small parser for what gettext writes."""
    entries, problems = {}, []
    header = {}
    cur = None

    def flush():
        nonlocal cur
        if cur is None or 'msgid' not in cur:
            cur = None
            return
        if cur['msgid'] == '' and cur.get('ctx') is None:
            for line in (cur.get('msgstr') or '').split('\n'):
                if ':' in line:
                    k, v = line.split(':', 1)
                    header[k.strip()] = v.strip()
        else:
            key = (cur.get('ctx'), cur['msgid'])
            if key in entries:
                problems.append(f'{path}: duplicate entry {cur["msgid"]!r}')
            entries[key] = cur
        cur = None

    for raw in path.read_text(encoding='utf-8').split('\n'):
        line = raw.strip()
        if line.startswith('#~'):
            problems.append(f'{path}: obsolete entry: {line}')
            continue
        if not line:
            flush()
            continue
        if cur is None:
            cur = {'flags': set(), 'msgstr': None, 'forms': {}}
        try:
            read_line(cur, line)
        except (AssertionError, IndexError, ValueError, KeyError, TypeError):
            problems.append(f'{path}: cannot read line {raw!r}')
    flush()
    return header, entries, problems


def read_line(cur, line):
    last = cur.get('_last')
    if True:
        if line.startswith('#,'):
            cur['flags'].update(f.strip() for f in line[2:].split(','))
        elif line.startswith('#'):
            return
        elif line.startswith('msgctxt '):
            cur['ctx'] = po_unquote(line[8:]); cur['_last'] = 'ctx'
        elif line.startswith('msgid_plural '):
            cur['plural'] = po_unquote(line[13:]); cur['_last'] = 'plural'
        elif line.startswith('msgid '):
            cur['msgid'] = po_unquote(line[6:]); cur['_last'] = 'msgid'
        elif line.startswith('msgstr['):
            i = int(line[7:line.index(']')])
            cur['forms'][i] = po_unquote(line[line.index(']') + 1:]); cur['_last'] = ('form', i)
        elif line.startswith('msgstr '):
            cur['msgstr'] = po_unquote(line[7:]); cur['_last'] = 'msgstr'
        elif line.startswith('"'):
            s = po_unquote(line)
            if isinstance(last, tuple):
                cur['forms'][last[1]] += s
            else:
                cur[last] = (cur.get(last) or '') + s
        else:
            raise ValueError(line)


def po_path(folder):
    return PO_DIR / folder / 'jammonitor.po'


def render_po(folder, entries, old):
    code, plural_forms = LANGS[folder]
    nplurals = int(re.search(r'nplurals=(\d+)', plural_forms).group(1))
    out = ['msgid ""', 'msgstr ""',
           po_quote('Project-Id-Version: JamMonitor\n'),
           po_quote(f'Language: {folder}\n'),
           po_quote('MIME-Version: 1.0\n'),
           po_quote('Content-Type: text/plain; charset=UTF-8\n'),
           po_quote('Content-Transfer-Encoding: 8bit\n'),
           po_quote(f'Plural-Forms: {plural_forms}\n'), '']
    for key in sorted(entries, key=lambda k: (k[1], k[0] or '')):
        ctx, msgid = key
        e = entries[key]
        o = old.get(key)
        if e['plural'] is not None:
            msgstr = [o['forms'].get(i, '') for i in range(nplurals)] if o and o.get('plural') is not None else []
        else:
            msgstr = o['msgstr'] if o and o.get('plural') is None and 'fuzzy' not in o['flags'] else ''
        out.extend(render_entry(ctx, msgid, e['plural'], msgstr, nplurals=nplurals))
    return '\n'.join(out)


def cmd_update():
    entries, errors = extract()
    if errors:
        print('\n'.join(errors), file=sys.stderr)
        return 1
    POT.parent.mkdir(parents=True, exist_ok=True)
    POT.write_text(render_pot(entries), encoding='utf-8')
    for folder in LANGS:
        p = po_path(folder)
        old = parse_po(p)[1] if p.exists() else {}
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(render_po(folder, entries, old), encoding='utf-8')
    print(f'{len(entries)} strings in {POT.relative_to(REPO)}; {len(LANGS)} .po files updated')
    return 0


def same_allowed():
    allow = {}
    if SAME.exists():
        for line in SAME.read_text(encoding='utf-8').split('\n'):
            if not line.strip() or line.startswith('#'):
                continue
            langs, _, msgid = line.partition(': ')
            for lang in langs.split(','):
                allow.setdefault(lang.strip(), set()).add(msgid)
    return allow


def placeholders(s):
    return sorted(PLACEHOLDER.findall(s))


def error_codes_in_src():
    codes = set()
    for p in (REPO / 'src').rglob('*.rs'):
        t = p.read_text(encoding='utf-8')
        codes.update(re.findall(r'ApiError::new\(\s*\d+\s*,\s*"([a-z0-9_]+)"', t))
        codes.update(re.findall(r'\bcode:\s*"([a-z0-9_]+)"', t))
        codes.update(re.findall(r'Self::new\(\s*\d+\s*,\s*"([a-z0-9_]+)"', t))
    return codes


def cmd_check():
    problems = []
    entries, errors = extract()
    problems.extend(errors)
    if not POT.exists() or POT.read_text(encoding='utf-8') != render_pot(entries):
        problems.append(f'{POT.relative_to(REPO)} is stale: run scripts/i18n.py update')
    allow = same_allowed()
    for folder, (code, plural_forms) in LANGS.items():
        p = po_path(folder)
        if not p.exists():
            problems.append(f'{p.relative_to(REPO)} missing')
            continue
        rel = p.relative_to(REPO)
        header, po, probs = parse_po(p)
        problems.extend(probs)
        if header.get('Plural-Forms') != plural_forms:
            problems.append(f'{rel}: Plural-Forms is {header.get("Plural-Forms")!r}, expected {plural_forms!r}')
        if header.get('Language') != folder:
            problems.append(f'{rel}: Language header is {header.get("Language")!r}, expected {folder!r}')
        nplurals = int(re.search(r'nplurals=(\d+)', plural_forms).group(1))
        ok_same = allow.get('*', set()) | allow.get(folder, set())
        for key, e in entries.items():
            ctx, msgid = key
            t = po.get(key)
            label = f'{rel}: {msgid!r}' + (f' (context {ctx!r})' if ctx else '')
            if t is None:
                problems.append(f'{label}: missing (run scripts/i18n.py update, then translate)')
                continue
            if 'fuzzy' in t['flags']:
                problems.append(f'{label}: fuzzy')
            if e['plural'] is not None:
                forms = [t['forms'].get(i, '') for i in range(nplurals)]
                if t.get('plural') != e['plural'] or not all(forms):
                    problems.append(f'{label}: plural forms untranslated')
                    continue
                for f in forms:
                    if placeholders(f) != placeholders(e['plural']) and placeholders(f) != placeholders(msgid):
                        problems.append(f'{label}: placeholders of {f!r} differ from the English')
                continue
            s = t['msgstr'] or ''
            if not s:
                problems.append(f'{label}: untranslated')
                continue
            if s == msgid and msgid not in ok_same:
                problems.append(f'{label}: translation equals the English (if right, add "{folder}: {msgid}" to {SAME.relative_to(REPO)})')
            if placeholders(s) != placeholders(msgid):
                problems.append(f'{label}: placeholders {placeholders(s)} differ from the English {placeholders(msgid)}')
        for key in po:
            if key not in entries:
                problems.append(f'{rel}: {key[1]!r} is not used by the code (run scripts/i18n.py update)')
        r = subprocess.run(['msgfmt', '-c', '-o', '/dev/null', str(p)], capture_output=True, text=True)
        if r.returncode != 0:
            problems.append(f'{rel}: msgfmt -c: {r.stderr.strip()}')
    for folder in sorted(d.name for d in PO_DIR.iterdir() if d.is_dir()):
        if folder != 'templates' and folder not in LANGS:
            problems.append(f'po/{folder}: not one of the 21 languages')
    # Every API error code the server can send has a translated message on the page.
    if ERRORS_JS.exists():
        handled = set(re.findall(r"^\s*([a-z0-9_]+):\s*gettext_noop\(", ERRORS_JS.read_text(encoding='utf-8'), re.M))
        for c in sorted(error_codes_in_src() - handled):
            problems.append(f'error code {c!r} (src/) has no message in htdocs/errors.js')
    else:
        problems.append('htdocs/errors.js missing')
    if problems:
        print('\n'.join(problems), file=sys.stderr)
        print(f'i18n check: {len(problems)} problem(s)', file=sys.stderr)
        return 1
    print(f'i18n check: {len(entries)} strings, {len(LANGS)} languages complete')
    return 0


def cmd_catalogues(outdir):
    out = Path(outdir) if outdir else REPO / 'htdocs' / 'i18n'
    out.mkdir(parents=True, exist_ok=True)
    for folder, (code, plural_forms) in LANGS.items():
        p = po_path(folder)
        if not p.exists():
            continue
        header, po, _probs = parse_po(p)
        cat = {'': re.search(r'plural=(.*?);?\s*$', plural_forms).group(1)}
        for (ctx, msgid), e in sorted(po.items(), key=lambda kv: (kv[0][1], kv[0][0] or '')):
            if 'fuzzy' in e['flags']:
                continue
            key = (ctx + '\u0004' if ctx is not None else '') + msgid
            if e.get('plural') is not None:
                forms = [e['forms'].get(i, '') for i in range(len(e['forms']))]
                if all(forms):
                    cat[key] = forms
            elif e['msgstr']:
                cat[key] = e['msgstr']
        (out / f'{code}.json').write_text(json.dumps(cat, ensure_ascii=False, separators=(',', ':')), encoding='utf-8')
    return 0


def cmd_fill(files):
    table = {}
    for f in files:
        msgid = None
        for n, line in enumerate(Path(f).read_text(encoding='utf-8').split('\n'), 1):
            if not line.strip() or line.startswith('#'):
                continue
            if line.startswith('= '):
                msgid = line[2:]
                continue
            lang, _, text = line.partition(' ')
            if lang == '*' and msgid is not None:
                # "* text": every language not given its own line (names like MPTCP, VPS).
                for folder in LANGS:
                    table.setdefault(folder, {}).setdefault('\0' + msgid, text.strip())
                continue
            m = re.fullmatch(r'(\w+)\[(\d)\]', lang)
            if m and m.group(1) in LANGS and msgid is not None:
                # "de[1] text": plural form 1 of a N_() entry.
                table.setdefault(m.group(1), {}).setdefault('\1' + msgid, {})[int(m.group(2))] = text.strip()
                continue
            if lang not in LANGS or msgid is None:
                print(f'{f}:{n}: bad line {line!r}', file=sys.stderr)
                return 1
            table.setdefault(lang, {})[msgid] = text.strip()
    entries, errors = extract()
    known = {k[1] for k in entries}
    unknown = {m.lstrip('\0\1') for d in table.values() for m in d if m.lstrip('\0\1') not in known}
    for m in sorted(unknown):
        print(f'not used by the code (check the English): {m!r}', file=sys.stderr)
    for folder in LANGS:
        p = po_path(folder)
        old = parse_po(p)[1] if p.exists() else {}
        for (ctx, msgid), e in old.items():
            t = table.get(folder, {}).get(msgid, table.get(folder, {}).get('\0' + msgid))
            if t is not None and ctx is None and e.get('plural') is None:
                e['msgstr'] = t
                e['flags'].discard('fuzzy')
            forms = table.get(folder, {}).get('\1' + msgid)
            if forms and ctx is None and e.get('plural') is not None:
                e['forms'].update(forms)
                e['flags'].discard('fuzzy')
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(render_po(folder, entries, old), encoding='utf-8')
    return 1 if unknown else 0


def cmd_missing(lang):
    entries, _ = extract()
    folders = [lang] if lang else list(LANGS)
    todo = set()
    for folder in folders:
        p = po_path(folder)
        po = parse_po(p)[1] if p.exists() else {}
        for key, e in entries.items():
            t = po.get(key)
            if not t or not (t['msgstr'] or any(t['forms'].values())) or 'fuzzy' in t['flags']:
                todo.add(key[1])
    for m in sorted(todo):
        print(m)
    return 0


def main(argv):
    if not argv:
        print(__doc__)
        return 2
    cmd, args = argv[0], argv[1:]
    if cmd == 'update':
        return cmd_update()
    if cmd == 'check':
        return cmd_check()
    if cmd == 'catalogues':
        return cmd_catalogues(args[0] if args else None)
    if cmd == 'fill':
        return cmd_fill(args)
    if cmd == 'missing':
        return cmd_missing(args[0] if args else None)
    print(__doc__)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
