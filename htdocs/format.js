// Number formatting with units, in the page's language (Intl). Every function returns a string
// with its unit and '—' for null/undefined/NaN (the API uses null for "not known"; never print
// "null" or "NaN").

import {currentLang} from './i18n.js';

export const DASH = '—';
const ok = v => typeof v === 'number' && Number.isFinite(v);

// Intl objects are costly to build: one per language and option set.
const cache = new Map();
function intl(Kind, opts) {
	const key = Kind.name + currentLang() + JSON.stringify(opts);
	let f = cache.get(key);
	if (!f) {
		try { f = new Kind(currentLang(), opts); } catch { f = new Kind('en', opts); }
		cache.set(key, f);
	}
	return f;
}

function num(v, digits) {
	return intl(Intl.NumberFormat, {maximumFractionDigits: digits, minimumFractionDigits: 0}).format(v);
}

// A number with an Intl unit ("12 ms", "52,3 °C", "3 Std.").
const unit = (v, u, digits, display = 'short') =>
	intl(Intl.NumberFormat, {style: 'unit', unit: u, unitDisplay: display, maximumFractionDigits: digits}).format(v);

// Bytes in IEC units (as LuCI does): 1536 → "1.5 KiB".
export function bytes(v) {
	if (!ok(v)) return DASH;
	const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
	let i = 0, x = v;
	while (Math.abs(x) >= 1024 && i < units.length - 1) { x /= 1024; i++; }
	return num(x, i === 0 ? 0 : x < 10 ? 2 : 1) + ' ' + units[i];
}

// A byte rate (bytes per second) shown in bits per second, the unit links are sold in.
export function rate(bytesPerSec) {
	if (!ok(bytesPerSec)) return DASH;
	const units = ['bit/s', 'kbit/s', 'Mbit/s', 'Gbit/s'];
	let x = bytesPerSec * 8, i = 0;
	while (x >= 1000 && i < units.length - 1) { x /= 1000; i++; }
	return num(x, i === 0 ? 0 : x < 10 ? 2 : 1) + ' ' + units[i];
}

// Plain count ("1,234").
export const count = v => (ok(v) ? num(v, 0) : DASH);

// A number of any precision (load averages).
export const decimal = (v, digits = 2) => (ok(v) ? intl(Intl.NumberFormat, {minimumFractionDigits: digits, maximumFractionDigits: digits}).format(v) : DASH);

export const pct = (v, digits = 1) => (ok(v) ? intl(Intl.NumberFormat, {style: 'percent', maximumFractionDigits: digits}).format(v / 100) : DASH);
export const ms = v => (ok(v) ? unit(v, 'millisecond', v < 10 ? 1 : 0) : DASH);
export const celsius = v => (ok(v) ? unit(v, 'celsius', 1) : DASH);

// Seconds to "3 days 4 hr", "2 hr 5 min", "45 sec" (the two largest units).
export function duration(sec) {
	if (!ok(sec) || sec < 0) return DASH;
	const s = Math.floor(sec);
	const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
	const parts = d ? [[d, 'day'], [h, 'hour']] : h ? [[h, 'hour'], [m, 'minute']] : m ? [[m, 'minute'], [s % 60, 'second']] : [[s, 'second']];
	return parts.map(([v, u]) => unit(v, u, 0)).join(' ');
}

// Age of a measurement: "now", "12 sec. ago", "3 min. ago" (Intl.RelativeTimeFormat).
export function age(sec) {
	if (!ok(sec)) return DASH;
	const rtf = intl(Intl.RelativeTimeFormat, {numeric: 'auto', style: 'short'});
	if (sec < 2) return rtf.format(0, 'second');
	if (sec < 120) return rtf.format(-Math.round(sec), 'second');
	if (sec < 7200) return rtf.format(-Math.round(sec / 60), 'minute');
	if (sec < 172800) return rtf.format(-Math.round(sec / 3600), 'hour');
	return rtf.format(-Math.round(sec / 86400), 'day');
}

// Epoch seconds → date and time in the page's language.
export function datetime(epochSec) {
	if (!ok(epochSec)) return DASH;
	return intl(Intl.DateTimeFormat, {dateStyle: 'medium', timeStyle: 'medium'}).format(new Date(epochSec * 1000));
}

// Epoch seconds → a date, or a time of day, for chart axes and tables.
export function date(epochSec, opts = {dateStyle: 'medium'}) {
	if (!ok(epochSec)) return DASH;
	return intl(Intl.DateTimeFormat, opts).format(new Date(epochSec * 1000));
}
