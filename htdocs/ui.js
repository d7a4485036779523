// Small shared building blocks for the tabs: blocks (titled cards with an age line),
// label/value rows and badges. All text goes through dom.h (textContent only).

import {h} from './dom.js';
import {_, _f, gettext_noop} from './i18n.js';
import * as fmt from './format.js';

// A titled block; `body` is filled by the caller, `age` shows when its data was measured.
export function block(title, {wide = false} = {}) {
	const age = h('span', {class: 'jm-age'});
	const body = h('div', {class: 'jm-block-body'});
	const el = h('section', {class: ['jm-block', wide && 'jm-wide']},
		h('div', {class: 'jm-block-head'}, h('h3', {text: title}), age), body);
	return {el, body, age};
}

// A definition-list row: label and value (value: string or node).
export function row(label, value, {title} = {}) {
	return [h('dt', {text: label}), h('dd', {class: 'jm-value', title}, value ?? fmt.DASH)];
}

export function dl(rows) {
	return h('dl', {class: 'jm-dl'}, rows);
}

// kind: ok | bad | warn | muted | info
export function badge(text, kind = 'muted', title) {
	return h('span', {class: 'jm-badge jm-' + kind, text, title});
}

export function upBadge(up) {
	if (up === true) return badge(_('Up'), 'ok');
	if (up === false) return badge(_('Down'), 'bad');
	return badge(_('Unknown'), 'muted');
}

// Multipath roles as OMR names them → our words (master is the one Primary link).
const ROLES = {master: [gettext_noop('Primary'), 'info'], on: [gettext_noop('Bonded'), 'ok'], backup: [gettext_noop('Standby'), 'warn'], off: [gettext_noop('Disabled'), 'muted']};
export function roleBadge(role) {
	const r = ROLES[role];
	return r ? badge(_(r[0]), r[1], 'multipath ' + role) : badge(role ? String(role) : _('Unknown'), 'muted');
}

// The `errors` of an answer (docs/api.md: a config file that cannot be parsed hides the blocks
// that need it): one alert line per broken file, updated in place, hidden when there is none.
export function configErrors() {
	const el = h('div', {class: 'jm-config-error', role: 'alert', hidden: true});
	let shown = '';
	function update(errors) {
		const byMsg = new Map();
		for (const e of Object.values(errors && typeof errors === 'object' ? errors : {})) {
			if (e && typeof e.message === 'string') byMsg.set(e.message, e);
		}
		const key = [...byMsg.keys()].join('\n');
		if (key === shown) return;
		shown = key;
		el.hidden = !byMsg.size;
		el.replaceChildren(...[...byMsg.keys()].map(m =>
			h('p', {text: _f('A configuration file cannot be read, so what depends on it is not shown: {message}', {message: m})})));
	}
	return {el, update};
}

export function emptyNote(text) {
	return h('p', {class: 'jm-note', text});
}
