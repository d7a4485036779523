// Clients tab: every LAN device from `GET clients`, grouped by subnet (collapsible), sortable
// by IP / name / type / download / upload / MAC / last seen, filtered by a search box; inline
// name edit and type override (POST clients.meta), DHCP reservation tag + dialog, per-client
// history popup, Tailscale peers as their own group (hidden when Tailscale is not installed).
//
// Hostnames, custom names, SSIDs and Tailscale names are attacker-controlled: they only ever
// reach the page as text (dom.h). While a name is being edited the table is not re-rendered,
// so a poll never eats the user's typing; the newest data is shown when the edit ends.

import {h, replace, setText} from '../dom.js';
import {_, _f, gettext_noop, N_, fill} from '../i18n.js';
import * as fmt from '../format.js';
import {badge, emptyNote} from '../ui.js';
import {typeLabel, typeIcon, SOURCE} from './clients/types.js';
import {openReservation, openHistory} from './clients/dialogs.js';

export const INTERVAL_MS = 10000;
const PREFS_KEY = 'jammonitor.clients';

const COLS = [
	['ip', gettext_noop('IP address')], ['name', gettext_noop('Name')], ['type', gettext_noop('Type')], ['down', gettext_noop('Download')],
	['up', gettext_noop('Upload')], ['mac', gettext_noop('MAC address')], ['seen', gettext_noop('Last seen')],
];

function ipNum(ip) {
	const p = String(ip || '').split('.').map(Number);
	return p.length === 4 && p.every(n => Number.isInteger(n)) ? ((p[0] * 256 + p[1]) * 256 + p[2]) * 256 + p[3] : Infinity;
}

const sortKey = {
	ip: c => ipNum(c.ipv4),
	name: c => String(c.display_name || c.hostname || '').toLowerCase() || '\uffff',
	type: c => typeLabel(c.type).toLowerCase(),
	down: c => -((c.rate && c.rate.rx) || 0),
	up: c => -((c.rate && c.rate.tx) || 0),
	mac: c => String(c.mac || ''),
	seen: c => (c.online ? -Infinity : -(c.last_seen || 0)),
};

function loadPrefs() {
	try { return JSON.parse(localStorage.getItem(PREFS_KEY) || '{}') || {}; } catch { return {}; }
}
function savePrefs(p) {
	try { localStorage.setItem(PREFS_KEY, JSON.stringify(p)); } catch { /* private mode */ }
}

export function create(ctx) {
	const {api} = ctx;
	const prefs = loadPrefs();
	let sort = COLS.some(c => c[0] === prefs.sort) ? prefs.sort : 'ip';
	let desc = !!prefs.desc;
	const collapsed = new Set(Array.isArray(prefs.collapsed) ? prefs.collapsed : []);
	let data = null, receivedAt = 0, editing = null, pending = false;

	const age = h('span', {class: 'jm-age'});
	const search = h('input', {type: 'search', class: 'jm-filter', 'data-role': 'search', placeholder: _('Search name, IP, MAC, vendor'),
		'aria-label': _('Search clients'), oninput: () => render(true)});
	const count = h('span', {class: 'jm-muted', 'data-role': 'count'});
	const notes = h('div', {class: 'jm-notes'});
	const head = h('tr');
	const table = h('table', {class: 'jm-table jm-clients-table'}, h('thead', {}, head));
	const body = h('div', {class: 'jm-table-wrap'}, table);
	const tsBlock = h('section', {class: 'jm-block jm-wide jm-tailscale', hidden: true});
	const el = h('div', {class: 'jm-clients', 'data-panel': 'clients'},
		h('div', {class: 'jm-tab-head'}, h('h3', {text: _('Clients')}), age),
		h('div', {class: 'jm-toolbar'}, search, count),
		notes, body, tsBlock);

	function renderHead() {
		replace(head, COLS.map(([id, label]) => {
			const on = id === sort;
			return h('th', {'aria-sort': on ? (desc ? 'descending' : 'ascending') : 'none'},
				h('button', {type: 'button', class: 'jm-sort', 'data-sort': id, text: _(label) + (on ? (desc ? ' ▼' : ' ▲') : ''),
					onclick: () => { desc = on ? !desc : false; sort = id; savePrefs({...loadPrefs(), sort, desc}); renderHead(); render(true); }}));
		}), h('th', {text: _('DHCP')}), h('th', {}, h('span', {class: 'jm-sr-only', text: _('History')})));
	}

	function matches(c, q) {
		if (!q) return true;
		return [c.display_name, c.hostname, c.name, c.ipv4, c.mac, c.vendor, typeLabel(c.type), ...(c.ipv6 || []), c.wifi && c.wifi.ssid]
			.some(v => v != null && String(v).toLowerCase().includes(q));
	}

	function nameCell(c) {
		const td = h('td', {class: 'jm-client-name'});
		if (editing === c.id) {
			const inp = h('input', {type: 'text', class: 'jm-input jm-name-input', value: c.name || c.display_name || '', maxlength: 64,
				'aria-label': _f('Name for {mac}', {mac: c.mac || c.ipv4})});
			const msg = h('span', {class: 'jm-field-error', role: 'alert'});
			const done = () => { editing = null; render(true); };
			inp.addEventListener('keydown', async e => {
				if (e.key === 'Escape') { e.preventDefault(); done(); return; }
				if (e.key !== 'Enter') return;
				e.preventDefault();
				inp.disabled = true;
				try {
					await api.post('clients.meta', {mac: c.mac, name: inp.value.trim() || null});
					c.name = inp.value.trim() || null;
					c.display_name = c.name || c.hostname;
					done();
					ctx.refresh();
				} catch (err) {
					inp.disabled = false;
					setText(msg, err.message || String(err));
					inp.focus();
				}
			});
			inp.addEventListener('blur', () => { if (!inp.disabled && editing === c.id && !msg.textContent) setTimeout(() => { if (editing === c.id) done(); }, 150); });
			replace(td, inp, msg);
			setTimeout(() => { inp.focus(); inp.select(); }, 0);
			return td;
		}
		const shown = c.display_name || c.hostname;
		const edit = c.mac ? ctx.guardWrite(h('button', {type: 'button', class: 'jm-icon-btn', 'data-action': 'edit-name', title: _('Edit name'),
			'aria-label': _('Edit name'), text: '✎', onclick: () => { editing = c.id; render(true); }})) : null;
		return replace(td,
			h('span', {class: ['jm-name', !shown && 'jm-muted'], text: shown || _('(no name)')}),
			c.name && c.hostname && c.hostname !== c.name ? h('small', {class: 'jm-muted jm-hostname', text: c.hostname}) : null,
			edit);
	}

	function typeCell(c, types) {
		const sel = h('select', {class: 'jm-input jm-type-select', 'data-action': 'type', 'aria-label': _f('Device type of {name}', {name: c.display_name || c.mac || c.ipv4})},
			h('option', {value: '', text: _f('Auto: {type}', {type: typeLabel(c.type_detected)}), selected: !c.type_custom}),
			types.filter(t => t !== 'unknown').map(t => h('option', {value: t, text: typeLabel(t), selected: c.type_custom && c.type === t})));
		if (!c.mac) sel.disabled = true;
		ctx.guardWrite(sel);
		sel.addEventListener('change', async () => {
			sel.disabled = true;
			try {
				await api.post('clients.meta', {mac: c.mac, type: sel.value || null});
				ctx.refresh();
			} catch (err) {
				sel.title = err.message || String(err);
				sel.classList.add('jm-invalid');
			} finally {
				sel.disabled = ctx.readOnly;
			}
		});
		const why = c.type_custom ? _('set by you') : _(SOURCE[c.type_source] || SOURCE.none);
		return h('td', {class: 'jm-client-type', title: typeLabel(c.type) + ' — ' + why},
			h('span', {class: 'jm-type-icon', 'aria-hidden': 'true', text: typeIcon(c.type)}), sel);
	}

	function rateCell(v, total) {
		return h('td', {class: 'jm-num', title: total ? _f('Today: {today} · 30 days: {days}', {today: fmt.bytes(total.today), days: fmt.bytes(total.days30)}) : null},
			v == null ? fmt.DASH : fmt.rate(v),
			total && total.today != null ? h('small', {class: 'jm-muted jm-total', text: fmt.bytes(total.today)}) : null);
	}

	function row(c, types) {
		const sub = [];
		if (c.vendor) sub.push(c.vendor);
		else if (c.private_mac) sub.push(_('private address'));
		const src = c.source === 'wifi' && c.wifi
			? badge(_f('Wi-Fi {band}', {band: c.wifi.band ? c.wifi.band.replace('g', ' GHz').replace('2 GHz', '2.4 GHz') : ''}), 'info',
				[c.wifi.ssid, c.wifi.radio, c.wifi.signal_dbm != null ? c.wifi.signal_dbm + ' dBm' : null].filter(Boolean).join(' · '))
			: null;
		const res = c.reservation;
		const resBtn = c.mac ? ctx.guardWrite(h('button', {type: 'button', class: ['jm-tag', res ? 'jm-tag-on' : 'jm-tag-off'], 'data-action': 'reserve',
			text: res ? _f('Reserved {ip}', {ip: res.ip || ''}) : _('Reserve'),
			title: res ? _('Edit or delete the DHCP reservation') : _('Give this device a fixed address'),
			onclick: () => openReservation(el.closest('.jm-app') || el, {api, client: c, writable: !ctx.readOnly, onSaved: () => ctx.refresh()})})) : null;
		if (resBtn && ctx.readOnly) resBtn.disabled = true;
		const lease = c.lease_expires ? _f('lease until {t}', {t: fmt.datetime(c.lease_expires)}) : null;
		return h('tr', {class: ['jm-client', !c.online && 'jm-offline'], 'data-mac': c.mac || '', 'data-id': c.id || ''},
			h('td', {class: 'jm-ip', title: [lease, ...(c.ipv6 || [])].filter(Boolean).join('\n') || null},
				h('span', {text: c.ipv4 || fmt.DASH}), (c.ipv6 || []).length ? h('small', {class: 'jm-muted', text: ' +IPv6'}) : null),
			nameCell(c),
			typeCell(c, types),
			rateCell(c.rate ? c.rate.rx : null, c.today && {today: c.today.rx, days30: c.days30 && c.days30.rx}),
			rateCell(c.rate ? c.rate.tx : null, c.today && {today: c.today.tx, days30: c.days30 && c.days30.tx}),
			h('td', {class: 'jm-mac'}, h('code', {text: c.mac || fmt.DASH}), sub.length ? h('small', {class: 'jm-muted', text: sub.join(' · ')}) : null),
			h('td', {class: 'jm-seen'}, c.online ? badge(_('Online'), 'ok') : h('span', {class: 'jm-muted', text: c.last_seen ? fmt.datetime(c.last_seen) : _('Offline')}), src),
			h('td', {}, resBtn),
			h('td', {}, h('button', {type: 'button', class: 'jm-icon-btn', 'data-action': 'history', title: _('Traffic history'), 'aria-label': _('Traffic history'), text: '📊',
				onclick: () => openHistory(el.closest('.jm-app') || el, {api, client: c})})));
	}

	function groupBody(key, title, rows, extra) {
		const open = !collapsed.has(key);
		const toggle = h('button', {type: 'button', class: 'jm-group-toggle', 'aria-expanded': String(open), 'data-group': key,
			text: (open ? '▾ ' : '▸ ') + title + ' (' + rows.length + ')',
			onclick: () => {
				if (collapsed.has(key)) collapsed.delete(key); else collapsed.add(key);
				savePrefs({...loadPrefs(), collapsed: [...collapsed]});
				render(true);
			}});
		return h('tbody', {class: 'jm-group', 'data-group': key},
			h('tr', {class: 'jm-group-head'}, h('th', {colspan: COLS.length + 2, scope: 'rowgroup'}, toggle, extra)),
			open ? rows : []);
	}

	// Polls (no force) wait while a name is being edited; user actions re-render at once.
	function render(force = false) {
		if (!data) return;
		if (editing && !force) { pending = true; return; }
		pending = false;
		const q = search.value.trim().toLowerCase();
		const types = Array.isArray(data.types) ? data.types : [];
		const all = Array.isArray(data.clients) ? data.clients : [];
		const shown = all.filter(c => matches(c, q));
		const key = sortKey[sort];
		shown.sort((a, b) => {
			const x = key(a), y = key(b);
			const r = x < y ? -1 : x > y ? 1 : ipNum(a.ipv4) - ipNum(b.ipv4);
			return desc ? -r : r;
		});
		const groups = (data.subnets || []).map(s => ({key: 'subnet:' + s.name, title: s.name + ' — ' + s.cidr, rows: []}));
		const other = {key: 'other', title: _('Other'), rows: []};
		for (const c of shown) {
			const g = groups.find(x => x.key === 'subnet:' + c.subnet) || other;
			g.rows.push(row(c, types));
		}
		if (other.rows.length) groups.push(other);
		table.querySelectorAll('tbody').forEach(t => t.remove());
		for (const g of groups) table.appendChild(groupBody(g.key, g.title, g.rows));
		// Tailscale peers: a group of their own, only when Tailscale is installed.
		const ts = data.tailscale;
		const peers = ts && ts.status && Array.isArray(ts.status.peers) ? ts.status.peers.filter(p => matches({display_name: p.hostname, hostname: p.dns_name, ipv4: (p.ips || [])[0], ipv6: p.ips, vendor: p.os}, q)) : [];
		if (ts && ts.status) {
			table.appendChild(groupBody('tailscale', _('Tailscale'), peers.map(tsRow),
				h('span', {class: 'jm-muted', text: ' ' + (ts.status.backend_state || '')})));
		}
		if (!all.length) table.appendChild(h('tbody', {}, h('tr', {}, h('td', {colspan: COLS.length + 2, class: 'jm-muted', text: _('No clients seen yet.')}))));
		setText(count, q ? fill(N_(all.length, '{shown} of {total} client', '{shown} of {total} clients'), {shown: fmt.count(shown.length), total: fmt.count(all.length)})
			: fill(N_(all.length, '{total} client', '{total} clients'), {total: fmt.count(all.length)}));
		renderNotes();
		renderTailscaleNote();
	}

	function tsRow(p) {
		return h('tr', {class: ['jm-client', 'jm-ts-peer', !p.online && 'jm-offline'], 'data-ts': p.hostname || ''},
			h('td', {class: 'jm-ip', title: (p.ips || []).join('\n') || null, text: (p.ips || [])[0] || fmt.DASH}),
			h('td', {class: 'jm-client-name'}, h('span', {class: 'jm-name', text: p.hostname || fmt.DASH}), p.dns_name ? h('small', {class: 'jm-muted jm-hostname', text: p.dns_name}) : null),
			h('td', {}, h('span', {text: p.os || fmt.DASH}), p.exit_node ? badge(_('Exit node'), 'info') : null),
			h('td', {class: 'jm-num', title: _('Received from this peer since tailscaled started'), text: fmt.bytes(p.rx_bytes)}),
			h('td', {class: 'jm-num', title: _('Sent to this peer since tailscaled started'), text: fmt.bytes(p.tx_bytes)}),
			h('td', {}, badge(_('Tailscale'), 'info')),
			h('td', {class: 'jm-seen'}, p.online ? badge(_('Online'), 'ok') : h('span', {class: 'jm-muted', text: p.last_seen ? fmt.datetime(Date.parse(p.last_seen) / 1000) : _('Offline')})),
			h('td'), h('td'));
	}

	function renderNotes() {
		const n = [];
		if (data.offload && data.offload.counters_incomplete)
			n.push(h('p', {class: 'jm-note jm-warn', 'data-note': 'offload', text: _('Hardware flow offloading is on: offloaded connections bypass the CPU, so per-client and interface counters miss their traffic.')}));
		if (data.history && !data.history.available)
			n.push(h('p', {class: 'jm-note', 'data-note': 'history', text: _('No traffic history yet: rates and totals appear once the collector has recorded a sample.')}));
		else if (data.history && !data.history.rate_window)
			n.push(h('p', {class: 'jm-note', 'data-note': 'stale', text: _('The collector has not sampled recently: rates are unknown.')}));
		else if (data.history)
			n.push(h('p', {class: 'jm-note jm-muted', text: _f('Rates: average of the last {s} s measured by the collector.', {s: data.history.rate_window.seconds})}));
		replace(notes, n);
	}

	function renderTailscaleNote() {
		const ts = data.tailscale;
		tsBlock.hidden = !(ts && ts.error);
		if (ts && ts.error) replace(tsBlock, h('p', {class: 'jm-note jm-warn', text: _f('Tailscale is installed but not answering: {message}', {message: ts.error})}));
	}

	async function refresh(signal) {
		data = await api.get('clients', {signal});
		receivedAt = performance.now();
		render();
		tick();
	}

	function tick() {
		if (!data) return;
		if (pending && !editing) render();
		const elapsed = (performance.now() - receivedAt) / 1000;
		setText(age, fmt.age(elapsed));
		el.classList.toggle('jm-stale', elapsed * 1000 > 3 * INTERVAL_MS);
	}

	renderHead();
	body.appendChild(emptyNote(_('Loading…')));
	const clearLoading = () => { const n = body.querySelector('.jm-note'); if (n) n.remove(); };
	return {el, intervalMs: INTERVAL_MS, refresh: async s => { await refresh(s); clearLoading(); }, tick, hide() { editing = null; }, destroy() {}};
}
