// Overview tab: one `overview` request per poll (every 5 s), rendered into the blocks the
// seed describes. Ages are measured on the browser clock from the moment the answer
// arrived (plus the tracker's own age), so a router clock that differs from the
// browser's cannot make data look fresh or stale.

import {h, replace, setText} from '../dom.js';
import {_, _f, gettext_noop, currentLang} from '../i18n.js';
import * as fmt from '../format.js';
import {block, row, dl, badge, upBadge, roleBadge, emptyNote, configErrors} from '../ui.js';
import {sparkline, COLORS} from '../charts.js';
import {createThroughput} from '../throughput.js';
import {outageText} from './wan/history.js';
import {overviewBlock} from '../bypass.js';

export const INTERVAL_MS = 5000;
// The last outage per WAN (wan.history, brief) changes by the minute: fetched in the same poll.
const HISTORY_MS = 60000;
const PING_NAMES = {internet: gettext_noop('Internet'), vps: gettext_noop('VPS'), tunnel: gettext_noop('Tunnel')};
// Sub-millisecond RTTs (a LAN peer, a local tunnel end) keep two significant digits, not "0 ms".
const rttText = v => (typeof v === 'number' && v > 0 && v < 1
	? v.toLocaleString(currentLang(), {maximumSignificantDigits: 2}) + ' ms' : fmt.ms(v));

export function create(ctx) {
	const {api} = ctx;
	const b = {
		tunnel: block(_('VPN / Tunnel')),
		system: block(_('System health')),
		uptime: block(_('Uptime')),
		wans: block(_('WAN IPv4'), {wide: true}),
		pings: block(_('Pings')),
		mptcp: block(_('MPTCP')),
		through: block(_('Throughput'), {wide: true}),
	};
	const cfgErr = configErrors();
	cfgErr.el.classList.add('jm-wide');
	// The VPS bypass toggle sits beside the tunnel it turns off (htdocs/bypass.js).
	const byp = ctx.bypass ? overviewBlock(ctx) : null;
	const el = h('div', {class: 'jm-grid', 'data-panel': 'overview'}, cfgErr.el,
		Object.values(b).map(x => x.el).flatMap(x => (x === b.tunnel.el && byp ? [x, byp.el] : [x])));
	const tp = createThroughput();
	const charts = new Map(); // dev → {chart, rx, tx}
	const pingCharts = new Map(); // target name → {chart, value}
	let pingAge = null; // age of the collector's ping round at receipt (s)
	let pingInterval = 3;
	let pingClock = null; // {gen: router time of the answer (s), at: performance.now() at receipt}
	let seed = null, seedAt = 0, seedState = 'no'; // the one-time `pings?minutes=10` history
	const pingNote = h('p', {class: 'jm-note', hidden: true});
	const pingList = h('div', {class: 'jm-pings'});
	b.pings.body.append(pingNote, pingList);
	let data = null, receivedAt = 0;
	let hist = null, histAt = -Infinity;
	const wanAges = []; // [{el, base}] tracker ages to refresh every tick

	replace(b.wans.body, emptyNote(_('Loading…')));

	async function refresh(signal) {
		const d = await api.get('overview', {signal});
		data = d;
		receivedAt = performance.now();
		const rates = tp.add(d.counters);
		renderTunnel(d);
		renderSystem(d.system || {});
		cfgErr.update(d.errors);
		if (Array.isArray(d.wans)) renderWans(d.wans);
		else replace(b.wans.body, emptyNote(_('Not shown: the configuration error above hides the WAN list.')));
		renderPings(d.pings, d);
		renderUptime(d.system || {});
		renderMptcp(d.mptcp || {});
		renderThroughput(d, rates);
		tick();
		if (seedState === 'no') await loadSeed(signal); // once per page load, after the first answer
		if (performance.now() - histAt >= HISTORY_MS) {
			histAt = performance.now();
			try {
				hist = await api.get('wan.history', {signal});
			} catch (err) {
				if (err && err.name === 'AbortError') histAt = -Infinity;
			}
			renderWans(d.wans || []);
		}
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
		]), (Array.isArray(t.wireguard) ? t.wireguard : []).map(wireguard));
	}

	// One WireGuard interface (omrvpn itself or a per-WAN wgwanN): its peers as the kernel reports them.
	function wireguard(w) {
		const why = {
			no_wireguard: _('The kernel has no WireGuard support.'),
			no_device: _('The WireGuard device does not exist.'),
			error: _('The WireGuard device could not be read.'),
		};
		const peers = Array.isArray(w.peers) ? w.peers : [];
		const body = w.status !== 'ok' ? emptyNote(why[w.status] || why.error)
			: !peers.length ? emptyNote(_('No peer configured.'))
				: peers.map(p => dl([
					row(_('Peer public key'), h('code', {class: 'jm-key', text: p.public_key})),
					row(_('Endpoint'), p.endpoint || fmt.DASH),
					row(_('Latest handshake'), p.latest_handshake_age_s == null ? _('Never') : fmt.age(p.latest_handshake_age_s),
						{title: p.latest_handshake ? fmt.datetime(p.latest_handshake) : undefined}),
					row(_('Transfer'), _f('{rx} received, {tx} sent', {rx: fmt.bytes(p.rx_bytes), tx: fmt.bytes(p.tx_bytes)})),
				]));
		return h('section', {class: 'jm-wg', 'data-wg': w.interface},
			h('h4', {class: 'jm-wg-title', text: _f('WireGuard: {name}', {name: w.interface})}), body);
	}

	function renderSystem(s) {
		const mem = s.mem || {};
		const ct = s.conntrack || {};
		const load = Array.isArray(s.load) ? s.load.map(v => (typeof v === 'number' ? fmt.decimal(v) : fmt.DASH)).join(' · ') : fmt.DASH;
		const cpu = fmt.pct(s.cpu_pct) + (s.cpu_basis === 'since_boot' ? ' ' + _('(average since boot)') : '');
		const ram = typeof mem.used_kb === 'number'
			? _f('{used} of {total} ({pct})', {used: fmt.bytes(mem.used_kb * 1024), total: fmt.bytes(mem.total_kb * 1024), pct: fmt.pct(mem.used_pct)})
			: fmt.DASH;
		const ctShare = typeof ct.count === 'number' && ct.max ? (ct.count / ct.max) * 100 : null;
		const ctPct = ctShare == null ? '' : ' (' + fmt.pct(ctShare, ctShare < 1 ? 2 : 1) + ')';
		const temps = (Array.isArray(s.thermal) ? s.thermal : []).map(z =>
			row(_f('Temperature ({type})', {type: z.type || z.zone || '?'}), fmt.celsius(z.temp_c), {title: z.zone}));
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
			const brief = hist && Array.isArray(hist.wans) ? hist.wans.find(x => x.name === w.name) : null;
			const lo = brief ? outageText(brief.ongoing || brief.last_outage, Date.now() / 1000) : null;
			return h('article', {class: 'jm-card', 'data-wan': w.name},
				h('div', {class: 'jm-card-head'},
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
					brief ? row(_('Last outage'), h('span', {class: 'jm-wan-lastout', text: lo || _('none in 30 days')})) : null,
					row(_('MPTCP'), w.mptcp_status || fmt.DASH),
					row(_('Tracker'), w.tracker_state || typeof w.tracker_age_s === 'number'
						? h('span', {}, w.tracker_state || '', w.tracker_state && typeof w.tracker_age_s === 'number' ? ', ' : '', ageEl)
						: fmt.DASH),
				]));
		})));
	}

	// Pings (Internet, VPS, Tunnel; remote APs belong to the Wi-Fi tab). The CGI never pings:
	// `pings` is the collector's live ring (null until it runs; shape in docs/api.md, live
	// file): {updated_at, interval_s, targets: [{name, host, series: [[ts_ms, rtt|null]…],
	// last_rtt_ms, loss_pct}]}. Right after the page loads, `pings?minutes=10` is asked ONCE
	// for the per-minute history, so the graphs are full even when the ring is young (the
	// collector just restarted) or missing (then the history is all there is). Never polled.
	function seedSeries(name, before) {
		const t = seed && Array.isArray(seed.targets) ? seed.targets.find(x => x && x.name === name) : null;
		if (!t || !Array.isArray(t.points)) return [];
		// [minute start ms, min, avg, max, loss %, sent]: plotted at the minute's middle,
		// a minute with every ping lost (max null) is a loss.
		return t.points.filter(x => Array.isArray(x) && typeof x[0] === 'number' && x[0] + 60000 <= before)
			.map(x => [x[0] + 30000, typeof x[3] === 'number' && typeof x[2] === 'number' ? x[2] : null]);
	}

	function seedLoss(name) {
		const t = seed && Array.isArray(seed.targets) ? seed.targets.find(x => x && x.name === name) : null;
		let sent = 0, lost = 0;
		for (const x of (t && Array.isArray(t.points) ? t.points : [])) {
			if (typeof x[5] === 'number' && typeof x[4] === 'number') { sent += x[5]; lost += x[5] * x[4] / 100; }
		}
		return sent ? (lost / sent) * 100 : null;
	}

	async function loadSeed(signal) {
		seedState = 'asked';
		try {
			seed = await api.get('pings', {query: {minutes: 10}, signal});
			seedAt = performance.now();
		} catch (err) {
			if (err && err.name === 'AbortError') { seedState = 'no'; return; }
			seed = null; // history is a bonus: live pings still show
		}
		seedState = 'done';
		if (data) renderPings(data.pings, data);
	}

	function renderPings(p, d) {
		const live = !!(p && Array.isArray(p.targets));
		let list;
		if (live) {
			// Both times are the router's clock, so their difference is a true age.
			pingInterval = typeof p.interval_s === 'number' && p.interval_s > 0 ? p.interval_s : 3;
			pingAge = typeof p.updated_at === 'number' && typeof d.generated_at === 'number' ? Math.max(0, d.generated_at - p.updated_at) : null;
			pingClock = {gen: d.generated_at, at: receivedAt};
			list = p.targets.filter(t => t && t.name in PING_NAMES).map(t => {
				const ring = (Array.isArray(t.series) ? t.series : []).filter(x => Array.isArray(x) && typeof x[0] === 'number');
				return {name: t.name, host: t.host, ring, series: [...seedSeries(t.name, ring.length ? ring[0][0] : Infinity), ...ring],
					loss: typeof t.loss_pct === 'number' ? t.loss_pct : null};
			});
		} else {
			pingAge = null;
			pingClock = seed ? {gen: seed.generated_at, at: seedAt} : null;
			list = (seed && Array.isArray(seed.targets) ? seed.targets : []).filter(t => t && t.name in PING_NAMES)
				.map(t => ({name: t.name, host: t.host, ring: null, series: seedSeries(t.name, Infinity), loss: seedLoss(t.name)}))
				.filter(t => t.series.length);
		}
		const order = Object.keys(PING_NAMES);
		list.sort((a, b2) => order.indexOf(a.name) - order.indexOf(b2.name));
		setText(pingNote, live ? '' : _('Ping history needs the collector, which is not running.') + ' ' + (list.length
			? _('The graphs show the last minutes it recorded (per-minute averages).')
			: _('Start it under Diagnostics.')));
		pingNote.hidden = live;

		const key = (live ? 'live:' : 'hist:') + list.map(t => t.name + '=' + t.host).join('|');
		if (b.pings.el.dataset.key !== key) {
			for (const c of pingCharts.values()) c.chart.destroy();
			pingCharts.clear();
			b.pings.el.dataset.key = key;
			replace(pingList, list.length ? list.map(t => {
				const value = h('span', {class: 'jm-value'});
				const ageEl = h('span', {class: 'jm-age'});
				const graph = h('div', {class: 'jm-spark', 'aria-hidden': 'true'});
				pingCharts.set(t.name, {value, ageEl, lastTs: null, chart: sparkline(graph, {height: 32, windowSec: 600, series: [{label: 'RTT', stroke: COLORS.line}]})});
				return h('div', {class: 'jm-ping', 'data-target': t.name},
					h('div', {class: 'jm-ping-head'}, h('strong', {text: _(PING_NAMES[t.name])}), h('span', {class: 'jm-muted', text: t.host || ''}), value),
					graph, ageEl);
			}) : live ? emptyNote(_('No ping target configured.')) : null);
		}
		for (const t of list) {
			const c = pingCharts.get(t.name);
			if (!c) continue;
			const s = t.ring || t.series;
			const last = s.length ? s[s.length - 1] : null;
			const prev = s.length > 1 ? s[s.length - 2] : null;
			let good = null; // latest answered RTT
			for (let i = s.length - 1; i >= 0 && good == null; i--) if (typeof s[i][1] === 'number') good = s[i][1];
			const loss = t.loss;
			const lossText = loss != null ? ' ' + _f('{pct} loss', {pct: fmt.pct(loss, 1)}) : '';
			let shown;
			if (!live) {
				shown = badge(good == null ? _('no answer') : rttText(good), 'muted', _('Per-minute average from the history'));
			} else if (!last) {
				shown = badge(_('waiting for the first ping'), 'muted');
			} else if (last && last[1] == null && (!prev || prev[1] == null)) {
				shown = badge(_('timeout'), 'bad', _('The last two pings were lost'));
			} else {
				// Thresholds as the predecessor: green < 50 ms and < 5 % loss, amber < 150 ms and < 20 %;
				// a single lost ping shows the previous RTT in amber with an asterisk.
				const single = last && last[1] == null;
				const rtt = single ? good : last ? last[1] : null;
				const l = loss ?? 0;
				const kind = rtt == null ? 'bad' : single ? 'warn' : rtt < 50 && l < 5 ? 'ok' : rtt < 150 && l < 20 ? 'warn' : 'bad';
				shown = badge(rtt == null ? _('timeout') : rttText(rtt) + (single ? ' *' : ''), kind, single ? _('The last ping was lost') : undefined);
			}
			replace(c.value, shown, lossText);
			c.value.dataset.rtt = live && last && typeof last[1] === 'number' ? String(last[1]) : '';
			c.value.dataset.loss = loss != null ? String(loss) : '';
			c.lastTs = last ? last[0] : null;
			c.chart.setData(t.series.map(x => x[0] / 1000), t.series.map(x => x[1]));
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
			row(_('Limits'), _f('{subflows} subflows, {addr} add_addr accepted', {subflows: fmt.count(lim.subflows), addr: fmt.count(lim.add_addr_accepted)})),
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
		// The collector's round can be old even when our poll is fresh (collector stopped: its
		// last live file stays behind).
		const roundStale = pingAge != null && pingAge + elapsed > 3 * pingInterval + INTERVAL_MS / 1000;
		b.pings.el.classList.toggle('jm-stale', roundStale);
		if (pingAge != null) {
			pingNote.hidden = !roundStale;
			setText(pingNote, roundStale ? _f('No new ping round for {age}: the collector is not running or is stuck.', {age: fmt.duration(pingAge + elapsed)}) : '');
		}
		// Each target's latest ping, with its age.
		const now = pingClock && typeof pingClock.gen === 'number' ? pingClock.gen + (performance.now() - pingClock.at) / 1000 : null;
		for (const c of pingCharts.values()) {
			setText(c.ageEl, now != null && typeof c.lastTs === 'number' ? _f('last ping {age}', {age: fmt.age(Math.max(0, now - c.lastTs / 1000))}) : '');
		}
		for (const w of wanAges) setText(w.el, fmt.age(w.base + elapsed));
		// Grey out when the last successful poll is older than 3 poll periods.
		el.classList.toggle('jm-stale', elapsed * 1000 > 3 * INTERVAL_MS);
	}

	return {
		el, intervalMs: INTERVAL_MS, refresh, tick,
		destroy() {
			if (byp) byp.destroy();
			for (const c of [...charts.values(), ...pingCharts.values()]) c.chart.destroy();
			charts.clear();
			pingCharts.clear();
		},
	};
}
