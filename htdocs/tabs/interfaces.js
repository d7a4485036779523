// Interfaces tab: cards grouped by the server's `group`, then the routing table with a
// text filter. The filter input lives outside the re-rendered region so typing is never
// interrupted by a poll.

import {h, replace, setText} from '../dom.js';
import {_, _f, N_, fill, gettext_noop} from '../i18n.js';
import * as fmt from '../format.js';
import {row, dl, badge, emptyNote, configErrors} from '../ui.js';

export const INTERVAL_MS = 5000;

const GROUPS = [
	['wan', gettext_noop('WAN')], ['lan', gettext_noop('LAN')], ['vpn', gettext_noop('VPN')], ['wifi', gettext_noop('Wi-Fi')], ['physical', gettext_noop('Physical')], ['other', gettext_noop('Other')],
];

export function create({api}) {
	const cards = h('div', {class: 'jm-ifgroups'}, emptyNote(_('Loading…')));
	const age = h('span', {class: 'jm-age'});
	const filter = h('input', {type: 'search', class: 'jm-filter', placeholder: _('Filter routes'), 'aria-label': _('Filter routes'),
		oninput: () => renderRoutes()});
	const routeCount = h('span', {class: 'jm-muted'});
	const routesBody = h('tbody');
	const routesTable = h('div', {class: 'jm-table-wrap'}, h('table', {class: 'jm-table'},
		h('thead', {}, h('tr', {}, [_('Table'), _('Destination'), _('Gateway'), _('Device'), _('Metric'), _('Protocol')].map(t => h('th', {text: t})))),
		routesBody));
	const cfgErr = configErrors();
	const el = h('div', {class: 'jm-ifaces', 'data-panel': 'interfaces'},
		h('div', {class: 'jm-tab-head'}, h('h3', {text: _('Interfaces')}), age),
		cfgErr.el,
		cards,
		h('section', {class: 'jm-block jm-wide jm-routes'},
			h('div', {class: 'jm-block-head'}, h('h3', {text: _('Routing table')}), routeCount),
			filter, routesTable));

	let routes = [], receivedAt = 0, loaded = false;

	async function refresh(signal) {
		const d = await api.get('interfaces', {signal});
		receivedAt = performance.now();
		loaded = true;
		cfgErr.update(d.errors);
		renderCards(Array.isArray(d.interfaces) ? d.interfaces : []);
		routes = Array.isArray(d.routes) ? d.routes : [];
		renderRoutes();
		tick();
	}

	function renderCards(list) {
		const byGroup = new Map(GROUPS.map(([g]) => [g, []]));
		for (const i of list) (byGroup.get(i.group) || byGroup.get('other')).push(i);
		const sections = GROUPS.filter(([g]) => byGroup.get(g).length).map(([g, title]) =>
			h('section', {class: 'jm-ifgroup', 'data-group': g},
				h('h4', {text: _(title) + ' (' + byGroup.get(g).length + ')'}),
				h('div', {class: 'jm-cards'}, byGroup.get(g).map(card))));
		replace(cards, sections.length ? sections : emptyNote(_('No interfaces.')));
	}

	function card(i) {
		const st = i.stats || {};
		const state = String(i.state || 'UNKNOWN');
		const kind = i.up === true ? 'ok' : i.up === false ? 'bad' : 'muted';
		const title = i.label || i.uci || i.name;
		const addrs = (Array.isArray(i.addresses) ? i.addresses : []).map(a =>
			h('li', {text: a.address + (a.prefix != null ? '/' + a.prefix : '') + (a.peer ? ' → ' + a.peer : '')}));
		return h('article', {class: 'jm-card', 'data-if': i.name},
			h('div', {class: 'jm-card-head'},
				h('strong', {class: 'jm-card-title', text: title}),
				i.uci && i.uci !== title ? h('span', {class: 'jm-muted', text: i.uci}) : null,
				h('span', {class: 'jm-badges'}, badge(state, kind, i.up ? _('Up') : _('Down')))),
			dl([
				row(_('Device'), i.name + (i.kind ? ' (' + i.kind + ')' : '')),
				row(_('MTU'), i.mtu != null ? fmt.count(i.mtu) + ' B' : fmt.DASH),
				row(_('MAC'), i.mac || fmt.DASH),
				row(_('Addresses'), addrs.length ? h('ul', {class: 'jm-list'}, addrs) : _('None')),
				row(_('Received'), fmt.bytes(st.rx_bytes) + ' · ' + fill(N_(st.rx_packets, '{n} packet', '{n} packets'), {n: fmt.count(st.rx_packets)})),
				row(_('Sent'), fmt.bytes(st.tx_bytes) + ' · ' + fill(N_(st.tx_packets, '{n} packet', '{n} packets'), {n: fmt.count(st.tx_packets)})),
				row(_('Errors / dropped'), _f('rx {re} / {rd}, tx {te} / {td}', {
					re: fmt.count(st.rx_errors), rd: fmt.count(st.rx_dropped), te: fmt.count(st.tx_errors), td: fmt.count(st.tx_dropped)})),
			]));
	}

	function renderRoutes() {
		const q = filter.value.trim().toLowerCase();
		const cols = r => [r.table, r.dst, r.gateway, r.dev, r.metric, r.protocol];
		const shown = q ? routes.filter(r => cols(r).some(v => v != null && String(v).toLowerCase().includes(q))) : routes;
		replace(routesBody, shown.map(r => h('tr', {}, cols(r).map(v => h('td', {text: v == null ? fmt.DASH : String(v)})))));
		if (!shown.length) routesBody.appendChild(h('tr', {}, h('td', {colspan: 6, class: 'jm-muted', text: loaded ? _('No matching route.') : _('Loading…')})));
		setText(routeCount, q ? fill(N_(routes.length, '{shown} of {total} route', '{shown} of {total} routes'), {shown: fmt.count(shown.length), total: fmt.count(routes.length)})
			: fill(N_(routes.length, '{total} route', '{total} routes'), {total: fmt.count(routes.length)}));
	}

	function tick() {
		if (!loaded) return;
		const elapsed = (performance.now() - receivedAt) / 1000;
		setText(age, fmt.age(elapsed));
		// Grey out when the last successful poll is older than 3 poll periods.
		el.classList.toggle('jm-stale', elapsed * 1000 > 3 * INTERVAL_MS);
	}

	return {el, intervalMs: INTERVAL_MS, refresh, tick, destroy() {}};
}
