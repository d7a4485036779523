// Clients tab dialogs: the DHCP reservation editor (POST clients.reserve / clients.unreserve)
// and the per-client history popup (GET clients.history: daily/monthly/hourly bars, a table,
// CSV saved from a Blob). The server validates every field; its errors land under the field
// they name. Everything shown is text (hostnames are attacker-controlled).

import {h, replace, setText} from '../../dom.js';
import {_, _f, gettext_noop} from '../../i18n.js';
import {errorText} from '../../errors.js';
import * as fmt from '../../format.js';
import {modal, field, errorMap, input} from '../wan/dialog.js';

const WRITE_TIMEOUT_MS = 30000;

// A host name dnsmasq accepts, derived from what the client calls itself ('' when none fits).
export function suggestName(s) {
	const t = String(s || '').replace(/[^A-Za-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63).replace(/-+$/, '');
	return t;
}

export function openReservation(host, {api, client, writable, onSaved}) {
	const errors = errorMap();
	const res = client.reservation;
	const ip = errors.add('ip', field('ip', _('IPv4 address'), input({value: (res && res.ip) || client.ipv4 || '', inputmode: 'decimal', placeholder: '192.168.1.50'})));
	const name = errors.add('name', field('name', _('Host name (optional)'), input({value: res ? (res.name || '') : suggestName(client.hostname), maxlength: 63}),
		{hint: _('Letters, digits and "-"; dnsmasq answers DNS for it.')}));
	const macField = errors.add('mac', field('mac', _('MAC address'), input({value: client.mac || '', readonly: true})));
	const msg = h('p', {class: 'jm-form-msg', role: 'status'});
	const save = h('button', {type: 'submit', class: 'jm-btn jm-btn-primary', 'data-action': 'save', text: res ? _('Save') : _('Reserve')});
	const del = res ? h('button', {type: 'button', class: 'jm-btn jm-btn-danger', 'data-action': 'delete', text: _('Delete reservation')}) : null;
	const cancel = h('button', {type: 'button', class: 'jm-btn', text: _('Cancel')});
	if (!writable) { save.disabled = true; if (del) del.disabled = true; }
	const form = h('form', {class: 'jm-form', novalidate: true},
		h('p', {class: 'jm-note', text: _('The client gets this address from DHCP every time. The address must be in a LAN subnet and not reserved for another device.')}),
		macField.el, ip.el, name.el, msg, h('div', {class: 'jm-actions'}, del, cancel, save));
	const d = modal(host, {title: _f('DHCP reservation: {name}', {name: client.display_name || client.mac}), body: form, className: 'jm-reserve-dialog'});
	cancel.addEventListener('click', () => d.close());

	async function send(action, body) {
		errors.clear();
		setText(msg, _('Saving…'));
		save.disabled = true;
		if (del) del.disabled = true;
		try {
			const r = await api.post(action, body, {timeoutMs: WRITE_TIMEOUT_MS});
			d.close();
			if (onSaved) onSaved(r);
		} catch (err) {
			if (err && err.name === 'AbortError') return;
			const f = err && err.field;
			if (!errors.show(f, err.message)) setText(msg, _f('Not saved: {message}', {message: (err && err.message) || String(err)}));
			else setText(msg, '');
			save.disabled = !writable;
			if (del) del.disabled = !writable;
		}
	}
	form.addEventListener('submit', e => {
		e.preventDefault();
		const body = {mac: client.mac, ip: ip.input.value.trim()};
		if (name.input.value.trim()) body.name = name.input.value.trim();
		send('clients.reserve', body);
	});
	if (del) del.addEventListener('click', () => send('clients.unreserve', {mac: client.mac}));
	ip.input.focus();
	return d;
}

const RANGES = [['daily', gettext_noop('Daily')], ['monthly', gettext_noop('Monthly')], ['hourly', gettext_noop('Hourly')]];

function csvOf(client, range, d) {
	const q = v => '"' + String(v).replace(/"/g, '""') + '"';
	const lines = [['client', 'range', 'start_utc', 'label', 'rx_bytes', 'tx_bytes', 'covered_seconds'].join(',')];
	for (const b of d.buckets) lines.push([q(client.mac || client.id), range, new Date(b.start * 1000).toISOString(), q(b.label), b.rx, b.tx, b.seconds].join(','));
	return lines.join('\n') + '\n';
}

function saveBlob(text, filename) {
	const url = URL.createObjectURL(new Blob([text], {type: 'text/csv'}));
	const a = h('a', {href: url, download: filename});
	document.body.appendChild(a);
	a.click();
	a.remove();
	setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export function openHistory(host, {api, client}) {
	let range = 'daily', data = null;
	const tabs = h('div', {class: 'jm-segs', role: 'tablist'});
	const chart = h('div', {class: 'jm-bars', 'aria-hidden': 'true'});
	const tbody = h('tbody');
	const total = h('p', {class: 'jm-muted'});
	const csv = h('button', {type: 'button', class: 'jm-btn', 'data-action': 'csv', text: _('Download CSV'), disabled: true});
	const body = h('div', {class: 'jm-history'}, tabs, total, chart,
		h('div', {class: 'jm-table-wrap jm-history-table'}, h('table', {class: 'jm-table'},
			h('thead', {}, h('tr', {}, [_('Period'), _('Download'), _('Upload')].map(t => h('th', {text: t})))), tbody)),
		h('div', {class: 'jm-actions'}, csv));
	const d = modal(host, {title: _f('Traffic history: {name}', {name: client.display_name || client.mac || client.ipv4}), body, className: 'jm-history-dialog'});

	function renderTabs() {
		replace(tabs, RANGES.map(([id, label]) => h('button', {type: 'button', role: 'tab', class: ['jm-seg', id === range && 'jm-active'],
			'aria-selected': String(id === range), 'data-range': id, text: _(label), onclick: () => { range = id; load(); }})));
	}

	function render() {
		const buckets = data.buckets || [];
		const max = Math.max(1, ...buckets.map(b => b.rx + b.tx));
		replace(chart, buckets.map(b => h('div', {class: ['jm-bar', b.seconds === 0 && 'jm-bar-empty'], title: b.label + ': ↓ ' + fmt.bytes(b.rx) + ' ↑ ' + fmt.bytes(b.tx)},
			h('span', {class: 'jm-bar-up', style: {height: (100 * b.tx / max).toFixed(2) + '%'}}),
			h('span', {class: 'jm-bar-down', style: {height: (100 * b.rx / max).toFixed(2) + '%'}}))));
		replace(tbody, buckets.slice().reverse().filter(b => b.rx || b.tx || b.seconds).map(b =>
			h('tr', {}, h('td', {text: b.label}), h('td', {text: fmt.bytes(b.rx)}), h('td', {text: fmt.bytes(b.tx)}))));
		if (!tbody.children.length) tbody.appendChild(h('tr', {}, h('td', {colspan: 3, class: 'jm-muted', text: data.available ? _('No traffic recorded in this period.') : _('No history yet: the collector has not recorded anything.')})));
		setText(total, _f('Total: ↓ {rx} · ↑ {tx}', {rx: fmt.bytes(data.totals.rx), tx: fmt.bytes(data.totals.tx)}));
		csv.disabled = false;
	}

	async function load() {
		renderTabs();
		csv.disabled = true;
		setText(total, _('Loading…'));
		const query = client.mac ? {mac: client.mac, range} : {id: client.id, range};
		try {
			data = await api.get('clients.history', {query});
			render();
		} catch (err) {
			setText(total, errorText(err));
		}
	}
	csv.addEventListener('click', () => {
		if (data) saveBlob(csvOf(client, range, data), `jammonitor-client-${String(client.mac || client.ipv4 || 'client').replace(/[^0-9a-zA-Z.]/g, '')}-${range}.csv`);
	});
	load();
	return d;
}
