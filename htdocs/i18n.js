// Translations: keys are the English strings, one JSON file per language under i18n/,
// fetched on demand. English needs no file at run time (the key is the text), so an
// English user costs no request; i18n/en.json exists as the complete reference list.

const STORAGE_KEY = 'jammonitor.lang';

// All 22 product languages with their own names (for the selector).
export const LANGUAGES = [
	['en', 'English'], ['zh-Hans', '简体中文'], ['zh-Hant', '繁體中文'], ['es', 'Español'],
	['de', 'Deutsch'], ['fr', 'Français'], ['pt-BR', 'Português (Brasil)'], ['ru', 'Русский'],
	['ja', '日本語'], ['it', 'Italiano'], ['nl', 'Nederlands'], ['pl', 'Polski'], ['ko', '한국어'],
	['tr', 'Türkçe'], ['vi', 'Tiếng Việt'], ['ar', 'العربية'], ['th', 'ไทย'], ['id', 'Bahasa Indonesia'],
	['cs', 'Čeština'], ['sv', 'Svenska'], ['el', 'Ελληνικά'], ['uk', 'Українська'],
];

// Languages whose i18n/<code>.json is shipped. Asking for any other one falls back to
// English without a request (a 404 would be a failed request on every page load).
export const SHIPPED = new Set(['en']);

const RTL = new Set(['ar']);

let lang = 'en';
let table = null; // null = English

// Translates `text`, replacing {name} placeholders from args.
export function _(text, args) {
	let s = (table && typeof table[text] === 'string' && table[text]) || text;
	if (args) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in args ? String(args[k]) : m));
	return s;
}

// Marks a string for extraction without translating it yet (translated later with _()).
export const N_ = text => text;

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

// Maps browser language tags to our codes: zh-TW/HK/MO and zh-Hant → zh-Hant, other zh → zh-Hans,
// pt-* → pt-BR, else the exact code or its two-letter prefix.
export function detect(tags = navigator.languages || [navigator.language]) {
	const codes = new Set(LANGUAGES.map(l => l[0]));
	for (const raw of tags) {
		if (!raw) continue;
		const t = String(raw);
		const lower = t.toLowerCase();
		if (lower.startsWith('zh')) return /hant|-tw|-hk|-mo/.test(lower) ? 'zh-Hant' : 'zh-Hans';
		if (lower.startsWith('pt')) return 'pt-BR';
		if (codes.has(t)) return t;
		const prefix = lower.split('-')[0];
		if (codes.has(prefix)) return prefix;
	}
	return 'en';
}

// Loads the chosen (or detected) language; any failure leaves English in place.
export async function init(choice = storedChoice()) {
	const wanted = choice && choice !== 'auto' ? choice : detect();
	lang = 'en';
	table = null;
	if (wanted === 'en' || !SHIPPED.has(wanted)) return lang;
	try {
		const res = await fetch(new URL('./i18n/' + wanted + '.json', import.meta.url), {cache: 'default'});
		if (!res.ok) return lang;
		const json = await res.json();
		if (json && typeof json === 'object') {
			table = json;
			lang = wanted;
		}
	} catch { /* fall back to English */ }
	return lang;
}

// Applies lang/dir to the app root (Arabic is right-to-left).
export function applyDir(el) {
	el.setAttribute('lang', lang);
	el.setAttribute('dir', isRtl() ? 'rtl' : 'ltr');
}
