// The app's one dialog module (modal dialogs, confirmations, labelled form fields): native <dialog> (focus is trapped, Escape
// closes, the rest of the page is inert), appended inside the app root so the theme-derived
// colours apply. Field errors sit under the field they name, linked with aria-describedby.

import {h} from './dom.js';
import {_} from './i18n.js';

let seq = 0;
export const uid = prefix => 'jm-' + prefix + '-' + (++seq);

// A modal dialog: {el, close()}. `onClose` runs once, however it closes.
export function modal(host, {title, body, className, onClose}) {
	const titleId = uid('dlg-title');
	const closeBtn = h('button', {type: 'button', class: 'jm-btn jm-dialog-x', 'aria-label': _('Close'), title: _('Close'), text: '×'});
	const el = h('dialog', {class: ['jm-dialog', className], 'aria-labelledby': titleId},
		h('div', {class: 'jm-dialog-head'}, h('h3', {id: titleId, text: title}), closeBtn),
		body);
	let closed = false;
	const close = () => { if (el.open) el.close(); };
	closeBtn.addEventListener('click', close);
	// A click on the backdrop (outside the dialog box) closes it.
	el.addEventListener('click', e => {
		if (e.target !== el) return;
		const r = el.getBoundingClientRect();
		if (e.clientX < r.left || e.clientX > r.right || e.clientY < r.top || e.clientY > r.bottom) close();
	});
	el.addEventListener('close', () => {
		if (closed) return;
		closed = true;
		el.remove();
		if (onClose) onClose();
	});
	host.appendChild(el);
	el.showModal();
	return {el, close};
}

// Resolves true (confirmed) or false.
export function confirmDialog(host, {title, lines, ok, cancel = _('Cancel')}) {
	return new Promise(resolve => {
		let answer = false;
		const okBtn = h('button', {type: 'button', class: 'jm-btn jm-btn-primary', text: ok});
		const cancelBtn = h('button', {type: 'button', class: 'jm-btn', text: cancel});
		const d = modal(host, {
			title, className: 'jm-confirm',
			body: [lines.map(t => h('p', {text: t})), h('div', {class: 'jm-actions'}, cancelBtn, okBtn)],
			onClose: () => resolve(answer),
		});
		okBtn.addEventListener('click', () => { answer = true; d.close(); });
		cancelBtn.addEventListener('click', () => d.close());
		cancelBtn.focus(); // the safe choice is the default
	});
}

// A labelled field: {el, input, error(text|null)}. `field` is the server's field name.
export function field(field, label, input, {hint} = {}) {
	const id = input.id || (input.id = uid('f'));
	const hintEl = hint ? h('small', {class: 'jm-hint', id: uid('hint'), text: hint}) : null;
	const errEl = h('div', {class: 'jm-field-error', id: uid('err'), hidden: true});
	input.setAttribute('aria-describedby', [hintEl && hintEl.id, errEl.id].filter(Boolean).join(' '));
	const el = h('div', {class: 'jm-field', 'data-field': field},
		h('label', {for: id, text: label}), input, hintEl, errEl);
	return {
		el, input,
		error(text) {
			errEl.textContent = text || '';
			errEl.hidden = !text;
			if (text) input.setAttribute('aria-invalid', 'true'); else input.removeAttribute('aria-invalid');
		},
	};
}

// Keeps the error elements of a form by server field name.
export function errorMap() {
	const map = new Map();
	return {
		add(name, f) { map.set(name, f); return f; },
		clear() { for (const f of map.values()) f.error(null); },
		// Shows the error at its field; false when no field of this form has that name.
		show(name, text) {
			const f = name && map.get(name);
			if (!f) return false;
			f.error(text);
			if (f.input && f.input.focus) f.input.focus();
			return true;
		},
	};
}

export const input = (props = {}) => h('input', {type: 'text', class: 'jm-input', autocomplete: 'off', spellcheck: 'false', ...props});
