// Number formatting with units. Every function returns a string with its unit and '—'
// for null/undefined/NaN (the API uses null for "not known"; never print "null" or "NaN").

import {_, currentLang} from './i18n.js';

export const DASH = '—';
const ok = v => typeof v === 'number' && Number.isFinite(v);

function num(v, digits) {
	return v.toLocaleString(currentLang(), {maximumFractionDigits: digits, minimumFractionDigits: 0});
}

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

export const pct = (v, digits = 1) => (ok(v) ? num(v, digits) + ' %' : DASH);
export const ms = v => (ok(v) ? num(v, v < 10 ? 1 : 0) + ' ms' : DASH);
export const celsius = v => (ok(v) ? num(v, 1) + ' °C' : DASH);

// Seconds to "3 d 4 h", "2 h 5 min", "45 s".
export function duration(sec) {
	if (!ok(sec) || sec < 0) return DASH;
	const s = Math.floor(sec);
	const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
	if (d) return _('{d} d {h} h', {d, h});
	if (h) return _('{h} h {m} min', {h, m});
	if (m) return _('{m} min {s} s', {m, s: s % 60});
	return _('{s} s', {s});
}

// Age of a measurement: "just now", "12 s ago", "3 min ago".
export function age(sec) {
	if (!ok(sec)) return DASH;
	if (sec < 2) return _('just now');
	if (sec < 120) return _('{n} s ago', {n: Math.round(sec)});
	if (sec < 7200) return _('{n} min ago', {n: Math.round(sec / 60)});
	return _('{n} h ago', {n: Math.round(sec / 3600)});
}

// Epoch seconds → date and time in the browser's locale.
export function datetime(epochSec) {
	if (!ok(epochSec)) return DASH;
	return new Date(epochSec * 1000).toLocaleString(currentLang());
}
