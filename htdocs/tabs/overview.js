// Overview tab: one `overview` request per poll (every 5 s), rendered into the blocks the
// seed describes. Ages are measured on the browser clock from the moment the answer
// arrived (plus the tracker's own age), so a router clock that differs from the
// browser's cannot make data look fresh or stale.

import {h, replace, setText} from '../dom.js';
import {_} from '../i18n.js';
import * as fmt from '../format.js';
import {block, row, dl, badge, upBadge, roleBadge, emptyNote} from '../ui.js';
import {sparkline, COLORS} from '../charts.js';
import {createThroughput} from '../throughput.js';

export const INTERVAL_MS = 5000;

export function create({api}) {
	const b = {
		tunnel: block(_('VPN / Tunnel')),
		system: block(_('System health')),
		uptime: block(_('Uptime')),
		wans: block(_('WAN IPv4'), {wide: true}),
		pings: block(_('Pings')),
		mptcp: block(_('MPTCP')),
		through: block(_('Throughput'), {wide: true}),
	};
	const el = h('div', {class: 'jm-grid', 'data-panel': 'overview'}, Object.values(b).map(x => x.el));
	const tp = createThroughput();
	const charts = new Map(); // dev → {chart, rx, tx}
	const pingCharts = new Map(); // target name → {chart, value}
	let pingAge = null; // age of the collector's ping round at receipt (s)
	let pingInterval = 3;
	let data = null, receivedAt = 0;
	const wanAges = []; // [{el, base}] tracker ages to refresh every tick

	replace(b.wans.body, emptyNote(_('Loading…')));

	async function refresh(signal) {
		const d = await api.get('overview', {signal});
		data = d;
		receivedAt = performance.now();
		const rates = tp.add(d.counters);
		renderTunnel(d);
		renderSystem(d.system || {});
		renderWans(d.wans || []);
		renderPings(d.pings, d);
		renderUptime(d.system || {});
		renderMptcp(d.mptcp || {});
		renderThroughput(d, rates);
		tick();
	}

	function renderTunnel(d) {
		const t = d.tunnel || {};
		const vps = d.vps || {};
		const name = [t.interface, t.device].filter(Boolean).join(' / ');
		replace(b.tunnel.body, dl([
			row(_('Status'), t.exists === false ? badge(_('Not present'), 'bad') : upBadge(t.up)),
			row(_('Interface'), name || fmt.DASH),
			row(_('Tunnel address'), t.address || fmt.DASH),
			row(_('Peer'), t.peer || fmt.DASH),
			row(_('Tunnel uptime'), fmt.duration(t.uptime_s)),
			row(_('VPS address'), vps.address || fmt.DASH, {title: vps.source || undefined}),
		]));
	}

	function renderSystem(s) {
		const mem = s.mem || {};
		const ct = s.conntrack || {};
		const load = Array.isArray(s.load) ? s.load.map(v => (typeof v === 'number' ? v.toFixed(2) : fmt.DASH)).join(' · ') : fmt.DASH;
		const cpu = fmt.pct(s.cpu_pct) + (s.cpu_basis === 'since_boot' ? ' ' + _('(average since boot)') : '');
		const ram = typeof mem.used_kb === 'number'
			? _('{used} of {total} ({pct})', {used: fmt.bytes(mem.used_kb * 1024), total: fmt.bytes(mem.total_kb * 1024), pct: fmt.pct(mem.used_pct)})
			: fmt.DASH;
		const ctShare = typeof ct.count === 'number' && ct.max ? (ct.count / ct.max) * 100 : null;
		const ctPct = ctShare == null ? '' : ' (' + fmt.pct(ctShare, ctShare < 1 ? 2 : 1) + ')';
		const temps = (Array.isArray(s.thermal) ? s.thermal : []).map(z =>
			row(_('Temperature ({type})', {type: z.type || z.zone || '?'}), fmt.celsius(z.temp_c), {title: z.zone}));
		replace(b.system.body, dl([
			row(_('CPU'), cpu),
			row(_('Load (1 / 5 / 15 min)'), load),
			row(_('RAM used'), ram),
			temps.length ? temps : row(_('Temperature'), _('No sensor')),
			row(_('Connections tracked'), fmt.count(ct.count) + ' / ' + fmt.count(ct.max) + ctPct),
		]));
	}

	function renderWans(wans) {
		wanAges.length = 0;
		if (!wans.length) { replace(b.wans.body, emptyNote(_('No WAN interface found.'))); return; }
		replace(b.wans.body, h('div', {class: 'jm-cards'}, wans.map(w => {
			const ageEl = h('span');
			if (typeof w.tracker_age_s === 'number') wanAges.push({el: ageEl, base: w.tracker_age_s});
			const title = w.label ? w.label : w.name;
			return h('article', {class: 'jm-card', 'data-wan': w.name},
				h('header', {class: 'jm-card-head'},
					h('strong', {class: 'jm-card-title', text: title}),
					w.label && w.label !== w.name ? h('span', {class: 'jm-muted', text: w.name}) : null,
					h('span', {class: 'jm-badges'}, roleBadge(w.role), upBadge(w.up))),
				dl([
					row(_('Device'), w.device || fmt.DASH),
					row(_('IPv4'), w.ipv4 ? w.ipv4 + (w.prefix != null ? '/' + w.prefix : '') : fmt.DASH, {title: w.ipv4 ? undefined : _('No address')}),
					row(_('Gateway'), w.gateway || fmt.DASH),
					row(_('Public IP'), w.public_ip || fmt.DASH),
					row(_('ASN'), w.asn || fmt.DASH),
					row(_('Latency'), fmt.ms(w.latency_ms)),
					row(_('MPTCP'), w.mptcp_status || fmt.DASH),
					row(_('Tracker'), w.tracker_state || typeof w.tracker_age_s === 'number'
						? h('span', {}, w.tracker_state || '', w.tracker_state && typeof w.tracker_age_s === 'number' ? ', ' : '', ageEl)
						: fmt.DASH),
				]));
		})));
	}

	// pings stays null until the collector runs (the CGI never pings; one pinger serves every
	// tab). Shape (docs/api.md, live file): {updated_at, interval_s, targets: [{name, host,
	// series: [[ts_ms, rtt|null]…], last_rtt_ms, loss_pct}]}. Remote APs (ap:*) belong to Wi-Fi.
	function renderPings(p, d) {
		if (!p) {
			pingAge = null;
			if (b.pings.el.dataset.key !== '') {
				b.pings.el.dataset.key = '';
				for (const c of pingCharts.values()) c.chart.destroy();
				pingCharts.clear();
			}
			replace(b.pings.body, emptyNote(_('Ping history needs the collector, which is not running')));
			return;
		}
		const names = {internet: _('Internet'), vps: _('VPS'), tunnel: _('Tunnel')};
		const targets = (Array.isArray(p.targets) ? p.targets : []).filter(t => t && t.name in names);
		// Both times are the router's clock, so their difference is a true age.
		pingInterval = typeof p.interval_s === 'number' && p.interval_s > 0 ? p.interval_s : 3;
		pingAge = typeof p.updated_at === 'number' && typeof d.generated_at === 'number' ? Math.max(0, d.generated_at - p.updated_at) : null;
		const key = 'p:' + targets.map(t => t.name + '=' + t.host).join('|');
		if (b.pings.el.dataset.key !== key) {
			for (const c of pingCharts.values()) c.chart.destroy();
			pingCharts.clear();
			b.pings.el.dataset.key = key;
			replace(b.pings.body, targets.length ? h('div', {class: 'jm-pings'}, targets.map(t => {
				const value = h('span', {class: 'jm-value'});
				const graph = h('div', {class: 'jm-spark', 'aria-hidden': 'true'});
				pingCharts.set(t.name, {value, chart: sparkline(graph, {height: 32, windowSec: 600, series: [{label: 'RTT', stroke: COLORS.line}]})});
				return h('div', {class: 'jm-ping', 'data-target': t.name},
					h('div', {class: 'jm-ping-head'}, h('strong', {text: names[t.name]}), h('span', {class: 'jm-muted', text: t.host || ''}), value),
					graph);
			})) : emptyNote(_('No ping target configured.')));
		}
		for (const t of targets) {
			const c = pingCharts.get(t.name);
			if (!c) continue;
			const series = Array.isArray(t.series) ? t.series : [];
			const lastLost = series.length > 0 && series[series.length - 1][1] == null;
			const loss = typeof t.loss_pct === 'number' ? t.loss_pct : null;
			const rtt = lastLost ? null : t.last_rtt_ms;
			// Same thresholds as the predecessor: green < 50 ms and < 5 % loss, amber < 150 ms and < 20 %.
			const kind = rtt == null ? 'bad' : rtt < 50 && (loss ?? 0) < 5 ? 'ok' : rtt < 150 && (loss ?? 0) < 20 ? 'warn' : 'bad';
			replace(c.value, badge(rtt == null ? _('timeout') : fmt.ms(rtt), kind),
				loss != null ? ' ' + _('{pct} loss', {pct: fmt.pct(loss, 1)}) : '');
			c.chart.setData(series.map(x => x[0] / 1000), series.map(x => x[1]));
		}
	}

	function renderUptime(s) {
		replace(b.uptime.body, dl([
			row(_('Uptime'), fmt.duration(s.uptime_s)),
			row(_('Boot time'), fmt.datetime(s.boot_time)),
			row(_('Router local time'), s.local_time || fmt.DASH),
		]));
	}

	function renderMptcp(m) {
		const eps = Array.isArray(m.endpoints) ? m.endpoints : [];
		const lim = m.limits || {};
		replace(b.mptcp.body, dl([
			row(_('Active subflows'), fmt.count(m.subflows_active)),
			row(_('MPTCP connections'), fmt.count(m.connections)),
			row(_('Limits'), _('{subflows} subflows, {addr} add_addr accepted', {subflows: fmt.count(lim.subflows), addr: fmt.count(lim.add_addr_accepted)})),
			row(_('Endpoints'), eps.length ? h('ul', {class: 'jm-list'}, eps.map(e => h('li', {},
				h('span', {text: (e.address || fmt.DASH) + (e.dev ? ' · ' + e.dev : '')}),
				Array.isArray(e.flags) && e.flags.length ? h('span', {class: 'jm-muted', text: ' (' + e.flags.join(', ') + ')'}) : null))) : _('None')),
		]));
	}

	function renderThroughput(d, rates) {
		const devs = [];
		for (const w of d.wans || []) if (w.device) devs.push([w.device, w.label || w.name]);
		const tun = d.tunnel && d.tunnel.device;
		if (tun && d.counters && d.counters.interfaces && d.counters.interfaces[tun]) devs.push([tun, _('Tunnel')]);

		const key = devs.map(x => x[0] + '=' + x[1]).join('|');
		if (b.through.el.dataset.key !== key) {
			for (const c of charts.values()) c.chart.destroy();
			charts.clear();
			b.through.el.dataset.key = key;
			replace(b.through.body, devs.length ? h('div', {class: 'jm-tp'}, devs.map(([dev, name]) => {
				const rx = h('span', {class: 'jm-value jm-down'}), tx = h('span', {class: 'jm-value jm-up'});
				const graph = h('div', {class: 'jm-spark', 'aria-hidden': 'true'});
				const r = h('div', {class: 'jm-tp-row', 'data-dev': dev},
					h('div', {class: 'jm-tp-name'}, h('strong', {text: name}), h('span', {class: 'jm-muted', text: dev})),
					h('div', {class: 'jm-tp-rates'}, h('span', {text: '↓ '}), rx, h('span', {text: ' ↑ '}), tx),
					graph);
				charts.set(dev, {rx, tx, chart: sparkline(graph, {series: [
					{label: _('Download'), stroke: COLORS.down}, {label: _('Upload'), stroke: COLORS.up}]})});
				return r;
			})) : emptyNote(_('No WAN interface found.')));
		}
		for (const [dev, c] of charts) {
			const r = rates.get(dev);
			setText(c.rx, r ? fmt.rate(r.rx) : _('measuring…'));
			setText(c.tx, r ? fmt.rate(r.tx) : _('measuring…'));
			const hist = tp.history(dev);
			if (hist) c.chart.setData(hist.t, hist.rx, hist.tx);
		}
	}

	// Called every second by the app: ages move on, stale data greys out.
	function tick() {
		if (!data) return;
		const elapsed = (performance.now() - receivedAt) / 1000;
		const a = fmt.age(elapsed);
		for (const x of Object.values(b)) if (x !== b.pings) setText(x.age, a);
		setText(b.pings.age, pingAge == null ? a : fmt.age(pingAge + elapsed));
		// The collector's round can be old even when our poll is fresh (collector stopped).
		b.pings.el.classList.toggle('jm-stale', pingAge != null && pingAge + elapsed > 3 * pingInterval + INTERVAL_MS / 1000);
		for (const w of wanAges) setText(w.el, fmt.age(w.base + elapsed));
		// Grey out when the last successful poll is older than 3 poll periods.
		el.classList.toggle('jm-stale', elapsed * 1000 > 3 * INTERVAL_MS);
	}

	return {
		el, intervalMs: INTERVAL_MS, refresh, tick,
		destroy() {
			for (const c of [...charts.values(), ...pingCharts.values()]) c.chart.destroy();
			charts.clear();
			pingCharts.clear();
		},
	};
}
