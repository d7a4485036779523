// Wi-Fi APs tab: local radio cards (band, channel, width, tx power, noise, utilisation,
// country, SSIDs) and their stations (`GET wifi`), then the remote APs the collector pings:
// status badge, latency, loss and a latency sparkline, with an editor for the list
// (POST wifi.aps). The editor checks each IPv4 at its field before sending; the server checks
// everything again and its errors (`aps[i].ip`) land under the field they name.

import {h, replace, setText} from '../dom.js';
import {_, _f, gettext_noop, N_, fill} from '../i18n.js';
import * as fmt from '../format.js';
import {row, dl, badge, emptyNote} from '../ui.js';
import {sparkline, COLORS} from '../charts.js';
import {modal, input, uid} from './wan/dialog.js';

export const INTERVAL_MS = 5000;

const BANDS = {'2g': '2.4 GHz', '5g': '5 GHz', '6g': '6 GHz', '60g': '60 GHz'};
const GEN = {4: gettext_noop('Wi-Fi 4'), 5: gettext_noop('Wi-Fi 5'), 6: gettext_noop('Wi-Fi 6'), 7: gettext_noop('Wi-Fi 7')};
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const NAME = /^[A-Za-z0-9_-]{1,32}$/;

const mbps = kbps => (typeof kbps === 'number' ? fmt.rate(kbps * 125) : fmt.DASH);

// The reason an AP address is refused in the editor, or null.
export function apIpError(s) {
	const v = String(s || '').trim();
	if (!IPV4.test(v)) return _('Enter an IPv4 address like 192.168.1.20');
	const first = Number(v.split('.')[0]);
	if (v === '0.0.0.0' || v === '255.255.255.255' || first === 127 || first >= 224) return _('Must be a unicast host address');
	return null;
}

export function create(ctx) {
	const {api} = ctx;
	const age = h('span', {class: 'jm-age'});
	const radios = h('div', {class: 'jm-cards jm-radios'}, emptyNote(_('Loading…')));
	const stations = h('tbody');
	const stationCount = h('span', {class: 'jm-muted'});
	const apList = h('div', {class: 'jm-cards jm-aps'});
	const apSummary = h('span', {class: 'jm-muted'});
	const editBtn = ctx.guardWrite(h('button', {type: 'button', class: 'jm-btn', 'data-action': 'edit-aps', text: _('Edit AP list'), onclick: () => openEditor()}));
	const el = h('div', {class: 'jm-wifi', 'data-panel': 'wifi'},
		h('div', {class: 'jm-tab-head'}, h('h3', {text: _('Wi-Fi APs')}), age),
		h('section', {class: 'jm-block jm-wide'}, h('div', {class: 'jm-block-head'}, h('h3', {text: _('Local radios')})), radios),
		h('section', {class: 'jm-block jm-wide jm-stations'},
			h('div', {class: 'jm-block-head'}, h('h3', {text: _('Wi-Fi clients')}), stationCount),
			h('div', {class: 'jm-table-wrap'}, h('table', {class: 'jm-table'},
				h('thead', {}, h('tr', {}, [_('Device'), _('MAC address'), _('Network'), _('Signal'), _('Rate down / up'), _('Standard'), _('Connected')].map(t => h('th', {text: t})))),
				stations))),
		h('section', {class: 'jm-block jm-wide jm-remote-aps'},
			h('div', {class: 'jm-block-head'}, h('h3', {text: _('Remote access points')}), apSummary, editBtn),
			apList));

	let data = null, receivedAt = 0;
	const sparks = new Map(); // AP name → {el, chart}

	function radioCard(r) {
		const band = BANDS[r.band] || r.band || fmt.DASH;
		const state = r.disabled ? badge(_('Disabled'), 'muted') : r.up ? badge(_('Up'), 'ok') : badge(_('Down'), 'bad');
		const util = typeof r.utilisation_pct === 'number'
			? h('span', {class: 'jm-meter', title: fmt.pct(r.utilisation_pct)}, h('span', {class: 'jm-meter-fill', style: {width: Math.min(100, r.utilisation_pct) + '%'}}), ' ' + fmt.pct(r.utilisation_pct))
			: fmt.DASH;
		const ssids = (r.ssids || []).map(s => h('li', {}, h('span', {text: s.ssid || s.ifname || fmt.DASH}),
			h('small', {class: 'jm-muted', text: ' ' + [s.ifname, fill(N_(s.clients, '{n} client', '{n} clients'), {n: fmt.count(s.clients)})].filter(Boolean).join(' · ')})));
		return h('article', {class: ['jm-card', 'jm-radio', !r.up && 'jm-offline'], 'data-radio': r.name, 'data-band': r.band || ''},
			h('div', {class: 'jm-card-head'}, h('strong', {class: 'jm-card-title', text: r.name + ' · ' + band}), h('span', {class: 'jm-badges'}, state)),
			dl([
				row(_('Channel'), r.channel != null ? String(r.channel) + (r.frequency_mhz ? ' (' + r.frequency_mhz + ' MHz)' : '') : fmt.DASH),
				row(_('Width'), r.width_mhz ? r.width_mhz + ' MHz' + (r.htmode ? ' (' + r.htmode + ')' : '') : fmt.DASH),
				row(_('Tx power'), r.txpower_dbm != null ? r.txpower_dbm + ' dBm' : fmt.DASH),
				row(_('Noise'), r.noise_dbm != null ? r.noise_dbm + ' dBm' : fmt.DASH),
				row(_('Channel use'), util),
				row(_('Country'), r.country || fmt.DASH),
				r.hardware ? row(_('Hardware'), r.hardware) : null,
				row(_('Networks'), ssids.length ? h('ul', {class: 'jm-list'}, ssids) : _('None')),
			]));
	}

	function stationRow(s, r) {
		return h('tr', {'data-mac': s.mac},
			h('td', {text: s.hostname || fmt.DASH}),
			h('td', {}, h('code', {text: s.mac})),
			h('td', {text: [s.ssid, BANDS[r.band] || r.band].filter(Boolean).join(' · ')}),
			h('td', {text: s.signal_dbm != null ? s.signal_dbm + ' dBm' : fmt.DASH}),
			// the AP's tx is the device's download
			h('td', {text: mbps(s.tx_rate_kbps) + ' / ' + mbps(s.rx_rate_kbps)}),
			h('td', {text: GEN[s.generation] ? _(GEN[s.generation]) : _('Legacy')}),
			h('td', {text: fmt.duration(s.connected_s)}));
	}

	function apCard(a) {
		const kind = a.state === 'online' ? 'ok' : a.state === 'offline' ? 'bad' : 'muted';
		const label = a.state === 'online' ? _('Online') : a.state === 'offline' ? _('Offline') : _('Unknown');
		let sp = sparks.get(a.name);
		if (!sp) {
			const box = h('div', {class: 'jm-spark'});
			sp = {box, chart: sparkline(box, {series: [{label: _('Latency'), stroke: COLORS.line}], windowSec: 600})};
			sparks.set(a.name, sp);
		}
		const live = Array.isArray(a.live) ? a.live : [];
		sp.chart.setData(live.map(p => p[0] / 1000), live.map(p => p[1]));
		return h('article', {class: ['jm-card', 'jm-ap', a.state !== 'online' && 'jm-offline'], 'data-ap': a.name},
			h('div', {class: 'jm-card-head'}, h('strong', {class: 'jm-card-title', text: a.name}), h('span', {class: 'jm-badges'}, badge(label, kind))),
			dl([
				row(_('Address'), a.ip),
				row(_('Latency'), fmt.ms(a.last_rtt_ms)),
				row(_('Loss'), fmt.pct(a.loss_pct)),
			]),
			sp.box);
	}

	function render() {
		const rs = Array.isArray(data.radios) ? data.radios : [];
		if (!data.radios_configured) replace(radios, emptyNote(_('This router has no Wi-Fi radio configured.')));
		else if (!data.radios_available) replace(radios, emptyNote(_('Wi-Fi radios are configured, but the system does not report them (is the Wi-Fi driver loaded?).')));
		else replace(radios, rs.map(radioCard));
		const st = rs.flatMap(r => (r.stations || []).map(s => stationRow(s, r)));
		replace(stations, st.length ? st : h('tr', {}, h('td', {colspan: 7, class: 'jm-muted', text: _('No Wi-Fi clients connected.')})));
		setText(stationCount, _f('{n} connected', {n: st.length}));
		const aps = Array.isArray(data.remote_aps) ? data.remote_aps : [];
		for (const name of [...sparks.keys()]) if (!aps.some(a => a.name === name)) { sparks.get(name).chart.destroy(); sparks.delete(name); }
		replace(apList, aps.length ? aps.map(apCard) : emptyNote(_('No remote access point configured. Add them with "Edit AP list": the router pings them and shows when one goes offline.')));
		setText(apSummary, aps.length ? _f('{online} of {total} online', {online: data.totals.aps_online, total: aps.length}) + (data.live && !data.live.fresh ? ' · ' + _('collector not running: states unknown') : '') : '');
	}

	function openEditor() {
		const rowsBox = h('div', {class: 'jm-ap-rows'});
		const msg = h('p', {class: 'jm-form-msg', role: 'status'});
		const rows = [];
		const max = (data && data.max_aps) || 64;
		function addRow(ap = {name: '', ip: ''}) {
			const nameIn = input({value: ap.name, maxlength: 32, 'aria-label': _('AP name'), placeholder: _('garden'), 'data-field': 'name'});
			const ipIn = input({value: ap.ip, inputmode: 'decimal', 'aria-label': _('AP address'), placeholder: '192.168.1.20', 'data-field': 'ip'});
			const nameErr = h('div', {class: 'jm-field-error', id: uid('err'), hidden: true});
			const ipErr = h('div', {class: 'jm-field-error', id: uid('err'), hidden: true});
			nameIn.setAttribute('aria-describedby', nameErr.id);
			ipIn.setAttribute('aria-describedby', ipErr.id);
			const r = {nameIn, ipIn, nameErr, ipErr};
			const show = (errEl, inp, text) => {
				errEl.textContent = text || '';
				errEl.hidden = !text;
				if (text) inp.setAttribute('aria-invalid', 'true'); else inp.removeAttribute('aria-invalid');
			};
			r.showName = t => show(nameErr, nameIn, t);
			r.showIp = t => show(ipErr, ipIn, t);
			ipIn.addEventListener('blur', () => r.showIp(ipIn.value.trim() ? apIpError(ipIn.value) : null));
			ipIn.addEventListener('input', () => { if (ipErr.textContent && !apIpError(ipIn.value)) r.showIp(null); });
			const remove = h('button', {type: 'button', class: 'jm-icon-btn', 'aria-label': _('Remove'), title: _('Remove'), text: '✕', onclick: () => {
				rows.splice(rows.indexOf(r), 1);
				r.el.remove();
			}});
			r.el = h('div', {class: 'jm-ap-row'}, h('div', {class: 'jm-field'}, nameIn, nameErr), h('div', {class: 'jm-field'}, ipIn, ipErr), remove);
			rows.push(r);
			rowsBox.appendChild(r.el);
			return r;
		}
		for (const a of (data && data.remote_aps) || []) addRow(a);
		if (!rows.length) addRow();
		const add = h('button', {type: 'button', class: 'jm-btn', 'data-action': 'add-ap', text: _('Add AP'), onclick: () => {
			if (rows.length >= max) { setText(msg, _f('At most {n} access points.', {n: max})); return; }
			addRow().nameIn.focus();
		}});
		const save = h('button', {type: 'submit', class: 'jm-btn jm-btn-primary', 'data-action': 'save', text: _('Save')});
		const cancel = h('button', {type: 'button', class: 'jm-btn', text: _('Cancel')});
		if (ctx.readOnly) save.disabled = true;
		const form = h('form', {class: 'jm-form', novalidate: true},
			h('p', {class: 'jm-note', text: _('Name (letters, digits, "_" or "-") and IPv4 address of each access point. The collector pings them every few seconds.')}),
			rowsBox, h('div', {class: 'jm-actions'}, add), msg, h('div', {class: 'jm-actions'}, cancel, save));
		const d = modal(el.closest('.jm-app') || el, {title: _('Remote access points'), body: form, className: 'jm-aps-dialog'});
		cancel.addEventListener('click', () => d.close());
		form.addEventListener('submit', async e => {
			e.preventDefault();
			setText(msg, '');
			let bad = null;
			const list = [];
			for (const r of rows) {
				const name = r.nameIn.value.trim(), ip = r.ipIn.value.trim();
				if (!name && !ip) continue;
				const ne = NAME.test(name) ? null : _('1 to 32 letters, digits, _ or -');
				const ie = apIpError(ip);
				r.showName(ne);
				r.showIp(ie);
				if ((ne || ie) && !bad) bad = ne ? r.nameIn : r.ipIn;
				list.push({name, ip});
			}
			if (bad) { bad.focus(); return; }
			save.disabled = true;
			setText(msg, _('Saving…'));
			try {
				await api.post('wifi.aps', {aps: list}, {timeoutMs: 30000});
				d.close();
				ctx.refresh();
			} catch (err) {
				save.disabled = ctx.readOnly;
				const m = /^aps\[(\d+)\]\.(name|ip)$/.exec(err.field || '');
				const filled = rows.filter(r => r.nameIn.value.trim() || r.ipIn.value.trim());
				if (m && filled[Number(m[1])]) {
					const r = filled[Number(m[1])];
					if (m[2] === 'ip') { r.showIp(err.message); r.ipIn.focus(); } else { r.showName(err.message); r.nameIn.focus(); }
					setText(msg, '');
				} else setText(msg, _f('Not saved: {message}', {message: err.message || String(err)}));
			}
		});
		(rows[0] && rows[0].nameIn).focus();
	}

	async function refresh(signal) {
		data = await api.get('wifi', {signal});
		receivedAt = performance.now();
		render();
		tick();
	}

	function tick() {
		if (!data) return;
		const elapsed = (performance.now() - receivedAt) / 1000;
		setText(age, fmt.age(elapsed));
		el.classList.toggle('jm-stale', elapsed * 1000 > 3 * INTERVAL_MS);
	}

	return {el, intervalMs: INTERVAL_MS, refresh, tick, destroy() { for (const s of sparks.values()) s.chart.destroy(); sparks.clear(); }};
}
