// Translations, the OpenWrt way: po/templates/jammonitor.pot is extracted from this code,
// po/<lang>/jammonitor.po holds each language (gettext, Weblate), and the build turns every .po
// into a compact catalogue i18n/<code>.json (scripts/i18n.py catalogues). Inside LuCI, when
// luci-i18n-jammonitor-<lang> is installed, LuCI's own catalogue (window.TR) already holds our
// strings for the LuCI language and no request is made.
//
// The functions keep LuCI's names and semantics:
//   _(msgid, context)                  → the translation (msgid when there is none)
//   N_(n, singular, plural, context)   → the plural form for n
// and add two of our own:
//   _f(msgid, {name: value}, context)  → _() with {name} placeholders filled in
//   gettext_noop(msgid)                → msgid, marked for extraction; translated later with _()

const STORAGE_KEY = 'jammonitor.lang';

// All 22 product languages with their own names (for the selector). The code is the BCP 47 tag
// (what Intl takes); po/ uses LuCI's folder names (zh_Hans, zh_Hant, pt_BR).
export const LANGUAGES = [
	['en', 'English'], ['zh-Hans', '简体中文'], ['zh-Hant', '繁體中文'], ['es', 'Español'],
	['de', 'Deutsch'], ['fr', 'Français'], ['pt-BR', 'Português (Brasil)'], ['ru', 'Русский'],
	['ja', '日本語'], ['it', 'Italiano'], ['nl', 'Nederlands'], ['pl', 'Polski'], ['ko', '한국어'],
	['tr', 'Türkçe'], ['vi', 'Tiếng Việt'], ['ar', 'العربية'], ['th', 'ไทย'], ['id', 'Bahasa Indonesia'],
	['cs', 'Čeština'], ['sv', 'Svenska'], ['el', 'Ελληνικά'], ['uk', 'Українська'],
];

// Every language ships a catalogue (a test fails when one lacks a translation).
export const SHIPPED = new Set(LANGUAGES.map(l => l[0]));

const RTL = new Set(['ar']);
const CODES = new Map(LANGUAGES.map(([code]) => [code.toLowerCase(), code]));

let lang = 'en';
let table = null;      // our catalogue: msgid (or context \u0004 msgid) → string | [forms]
let plural = n => (n !== 1 ? 1 : 0);
let useLuci = false;   // LuCI's catalogue (window.TR) is for `lang` and holds our strings

// A plural formula from a .po header ("n%10==1 && n%100!=11 ? 0 : …"): only n, numbers and
// C operators get through to the Function constructor.
export function pluralFunction(expr) {
	if (typeof expr !== 'string' || !/^[n0-9\s%<>=!&|?:()+\-*/]+$/.test(expr)) return null;
	try {
		const f = new Function('n', 'return +(' + expr + ');');
		return n => f(n);
	} catch { return null; }
}

function luciTr(s, c) {
	return typeof window !== 'undefined' && typeof window._ === 'function' && window._ !== _ ? window._(s, c) : s;
}

function lookup(key) {
	return table && Object.prototype.hasOwnProperty.call(table, key) ? table[key] : undefined;
}

export function _(msgid, context) {
	// Code written before _f existed passes placeholder values here: still filled, and
	// scripts/i18n.py check fails until it says _f.
	if (context != null && typeof context === 'object') return fill(_(msgid), context);
	if (useLuci) {
		const t = luciTr(msgid, context);
		if (t !== msgid) return t;
	}
	const t = lookup(context != null ? context + '\u0004' + msgid : msgid);
	return typeof t === 'string' && t ? t : msgid;
}

export function N_(n, singular, pluralText, context) {
	// N_ with one string (the old marker, now gettext_noop): the text itself; the check fails on it.
	if (typeof n === 'string' && singular === undefined) return n;
	if (useLuci && typeof window.N_ === 'function' && window.N_ !== N_) {
		const t = window.N_(n, singular, pluralText, context);
		if (t !== singular && t !== pluralText) return t;
	}
	const forms = lookup(context != null ? context + '\u0004' + singular : singular);
	if (Array.isArray(forms)) {
		const t = forms[plural(n)];
		if (typeof t === 'string' && t) return t;
	}
	return n === 1 ? singular : pluralText;
}

// Fills {name} placeholders of an already translated string.
export function fill(text, args) {
	return args ? text.replace(/\{(\w+)\}/g, (m, k) => (k in args ? String(args[k]) : m)) : text;
}

export const _f = (msgid, args, context) => fill(_(msgid, context), args);

export const gettext_noop = msgid => msgid;

export const currentLang = () => lang;
export const isRtl = () => RTL.has(lang);

// The stored override ('auto' when none).
export function storedChoice() {
	try { return localStorage.getItem(STORAGE_KEY) || 'auto'; } catch { return 'auto'; }
}

// Persists the manual choice ('auto' returns to browser detection).
export function storeChoice(code) {
	try {
		if (code === 'auto') localStorage.removeItem(STORAGE_KEY);
		else localStorage.setItem(STORAGE_KEY, code);
	} catch { /* private mode: choice lasts for this page only */ }
}

// One language tag (BCP 47 or LuCI's zh_Hans style) → our code, or null: the exact tag first,
// then Chinese by script/region (zh-TW, zh-HK, zh-MO and zh-Hant → Traditional), then the base.
export function match(tag) {
	if (!tag) return null;
	const lower = String(tag).replace(/_/g, '-').toLowerCase();
	if (CODES.has(lower)) return CODES.get(lower);
	if (lower === 'zh' || lower.startsWith('zh-'))
		return /(^|-)(hant|tw|hk|mo)(-|$)/.test(lower) ? 'zh-Hant' : 'zh-Hans';
	const base = lower.split('-')[0];
	if (base === 'pt') return 'pt-BR';
	return CODES.get(base) || null;
}

// Browser detection: the first preferred language we have.
export function detect(tags = (typeof navigator !== 'undefined' && (navigator.languages || [navigator.language])) || []) {
	for (const t of tags) {
		const code = match(t);
		if (code) return code;
	}
	return 'en';
}

// The LuCI page's language (<html lang>, set by LuCI's dispatcher) when a LuCI catalogue is loaded.
function luciLang() {
	if (typeof window === 'undefined' || !window.TR || typeof document === 'undefined') return null;
	return match(document.documentElement.getAttribute('lang'));
}

// A string only we translate: when LuCI's catalogue has it, it carries our .po for this language.
const PROBE = 'WAN Policy';

// Loads the chosen language ('auto': LuCI's language inside LuCI, else the browser's).
// Any failure leaves English in place.
export async function init(choice = storedChoice()) {
	const host = luciLang();
	const wanted = choice && choice !== 'auto' && SHIPPED.has(choice) ? choice : (host || detect());
	lang = 'en';
	table = null;
	useLuci = false;
	plural = n => (n !== 1 ? 1 : 0);
	if (wanted === 'en') return lang;
	if (host === wanted) {
		useLuci = true;
		if (luciTr(PROBE) !== PROBE) { lang = wanted; return lang; }
	}
	try {
		const res = await fetch(new URL('./i18n/' + wanted + '.json', import.meta.url), {cache: 'default'});
		if (res.ok) {
			const json = await res.json();
			if (json && typeof json === 'object') {
				table = json;
				plural = pluralFunction(json['']) || plural;
			}
		}
	} catch { /* English where neither catalogue has the string */ }
	if (table || useLuci) lang = wanted;
	return lang;
}

// Applies lang/dir to the app root (Arabic is right-to-left).
export function applyDir(el) {
	el.setAttribute('lang', lang);
	el.setAttribute('dir', isRtl() ? 'rtl' : 'ltr');
}
