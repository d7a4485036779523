// Link reliability (issue 19): each WAN card's 24 h latency/loss sparkline and uptime, and the
// "Link history" dialog (latency and loss charts per range, the outage timeline, CSV). The data
// is `wan.history`, measured by the collector through each link only. Every label is text
// (dom.h), the charts are the one uPlot loader (charts.js), the dialog is dialog.js's modal.

import {h, replace, setText} from '../../dom.js';
import {_, _f, gettext_noop, N_, fill} from '../../i18n.js';
import {errorText} from '../../errors.js';
import * as fmt from '../../format.js';
import {sparkline, timeChart, COLORS} from '../../charts.js';
import {modal} from './dialog.js';

const RANGES = [['24h', gettext_noop('24 hours')], ['7d', gettext_noop('7 days')], ['30d', gettext_noop('30 days')]];
const CAUSES = {
	link_down: gettext_noop('link down'),
	no_gateway_reply: gettext_noop('no gateway reply'),
	no_internet_reply: gettext_noop('no Internet reply'),
	disabled: gettext_noop('disabled by the user'),
};
export const causeText = c => _(CAUSES[c] || c || '');
const LOSS = '#d64545';

// Per target: x (s), avg RTT, loss % arrays; the first target drives the sparkline.
function columns(targets) {
	const t = Array.isArray(targets) && targets.length ? targets : [];
	const xs = new Set();
	for (const s of t) for (const p of s.points || []) xs.add(p[0]);
	const x = [...xs].sort((a, b) => a - b);
	const idx = new Map(x.map((v, i) => [v, i]));
	const lat = t.map(() => x.map(() => null));
	const loss = t.map(() => x.map(() => null));
	t.forEach((s, k) => {
		for (const p of s.points || []) {
			const i = idx.get(p[0]);
			lat[k][i] = typeof p[2] === 'number' ? p[2] : null;
			loss[k][i] = typeof p[4] === 'number' ? p[4] : null;
		}
	});
	return {x: x.map(v => v / 1000), lat, loss, names: t.map(s => String(s.name))};
}

// "3 min ago, for 1 min 30 s" (or "ongoing for …").
export function outageText(o, nowSec) {
	if (!o || typeof o.start !== 'number') return null;
	const dur = fmt.duration(o.duration_s);
	if (o.ongoing) return _f('ongoing for {dur} ({cause})', {dur, cause: causeText(o.cause)});
	const ago = fmt.age(nowSec - (o.end || o.start) / 1000);
	return _f('{ago}, for {dur} ({cause})', {ago, dur, cause: causeText(o.cause)});
}

// The card part: {el, update(brief), destroy()}.
export function cardPart({onOpen, title}) {
	const chartBox = h('div', {class: 'jm-wan-spark', 'aria-hidden': 'true'});
	const up = h('span', {class: 'jm-wan-uptime'});
	const last = h('span', {class: 'jm-muted jm-wan-lastout'});
	const btn = h('button', {type: 'button', class: 'jm-link jm-wan-histbtn', text: _('Link history'), onclick: onOpen});
	const el = h('div', {class: 'jm-wan-line jm-wan-hist'}, chartBox, up, last, btn);
	let chart = null;
	return {
		el,
		update(b, nowSec) {
			btn.setAttribute('aria-label', _f('Link history of {wan}', {wan: title()}));
			if (!b) { setText(up, ''); setText(last, ''); return; }
			const u = b.uptime && b.uptime['24h'];
			setText(up, u && typeof u.pct === 'number' ? _f('Uptime 24 h: {pct}', {pct: fmt.pct(u.pct, 2)}) : _('Uptime 24 h: —'));
			const lo = outageText(b.ongoing || b.last_outage, nowSec);
			setText(last, lo ? _f('Last outage: {text}', {text: lo}) : _('No outage in 30 days'));
			const c = columns(b.spark && b.spark.targets);
			if (!c.x.length) return;
			if (!chart) {
				chart = sparkline(chartBox, {
					series: [{label: _('Latency'), stroke: COLORS.line}, {label: _('Loss'), stroke: LOSS}],
					height: 32, windowSec: 86400,
				});
			}
			chart.setData(c.x, c.lat[0], c.loss[0]);
		},
		destroy() { if (chart) chart.destroy(); chart = null; },
	};
}

// The "Link history" dialog of one WAN.
export function openHistory(host, {api, wan, title}) {
	let range = '24h', charts = [], gen = 0;
	const status = h('p', {class: 'jm-note', role: 'status', text: _('Loading…')});
	const rangeBtns = RANGES.map(([r, label]) => h('button', {type: 'button', class: 'jm-btn jm-btn-small', 'data-range': r,
		'aria-pressed': String(r === range), text: _(label), onclick: () => { range = r; load(); }}));
	const uptimeBox = h('dl', {class: 'jm-dl jm-hist-uptime'});
	const latBox = h('div', {class: 'jm-hist-chart', 'data-chart': 'latency'});
	const lossBox = h('div', {class: 'jm-hist-chart', 'data-chart': 'loss'});
	const timeline = h('div', {class: 'jm-timeline', 'aria-hidden': 'true'});
	const list = h('ul', {class: 'jm-outages'});
	const csvLat = h('button', {type: 'button', class: 'jm-btn jm-btn-small', text: _('Latency CSV'), onclick: () => csv('latency')});
	const csvOut = h('button', {type: 'button', class: 'jm-btn jm-btn-small', text: _('Outages CSV'), onclick: () => csv('outages')});
	const body = h('div', {class: 'jm-hist'},
		h('div', {class: 'jm-actions jm-hist-ranges', role: 'group', 'aria-label': _('Range')}, rangeBtns),
		status, uptimeBox,
		h('h4', {text: _('Latency (average per bucket)')}), latBox,
		h('h4', {text: _('Loss')}), lossBox,
		h('h4', {text: _('Outages')}), timeline, list,
		h('div', {class: 'jm-actions'}, csvLat, csvOut));
	const d = modal(host, {title: _f('Link history: {wan}', {wan: title}), body, className: 'jm-hist-dialog',
		onClose: () => { gen++; charts.forEach(c => c.destroy()); charts = []; }});

	async function csv(kind) {
		try {
			await api.download('wan.history.csv', {query: {name: wan, range, kind}, filename: `jammonitor-wan-${wan}-${kind}-${range}.csv`});
		} catch (err) {
			setText(status, _f('CSV download failed: {message}', {message: errorText(err)}));
		}
	}

	async function load() {
		const g = ++gen;
		rangeBtns.forEach(b => b.setAttribute('aria-pressed', String(b.dataset.range === range)));
		setText(status, _('Loading…'));
		status.hidden = false;
		let data;
		try {
			data = await api.get('wan.history', {query: {name: wan, range}});
		} catch (err) {
			if (g === gen) setText(status, (err && err.message) || String(err));
			return;
		}
		if (g !== gen) return;
		render(data || {});
	}

	function render(data) {
		const now = Date.now() / 1000;
		status.hidden = data.available !== false;
		if (data.available === false) setText(status, _('No history yet: the collector has not recorded this WAN.'));
		const u = data.uptime || {};
		replace(uptimeBox, ['24h', '7d', '30d'].map(k => [
			h('dt', {text: _f('Uptime {range}', {range: _((RANGES.find(r => r[0] === k) || [])[1] || k)})}),
			h('dd', {class: 'jm-value', 'data-uptime': k, text: u[k] ? fmt.pct(u[k].pct, 2) + ' · ' + fill(N_(u[k].outages, '{n} outage', '{n} outages'), {n: fmt.count(u[k].outages)}) : fmt.DASH}),
		]));
		charts.forEach(c => c.destroy());
		replace(latBox);
		replace(lossBox);
		const c = columns(data.targets);
		const since = typeof data.since === 'number' ? data.since : now - 86400;
		const palette = [COLORS.line, COLORS.up, COLORS.down, '#8a5cd6'];
		const series = c.names.map((n, i) => ({label: n, stroke: palette[i % palette.length]}));
		charts = [
			timeChart(latBox, {series, unit: 'ms', range: [since, now]}),
			timeChart(lossBox, {series, unit: '%', range: [since, now], height: 120}),
		];
		charts[0].setData(c.x, ...c.lat);
		charts[1].setData(c.x, ...c.loss);
		// Timeline: each outage (and disabled period) as a bar over the range.
		const span = Math.max(1, now - since);
		const rows = [...(data.outages || []), ...(data.disabled_periods || [])].sort((a, b) => a.start - b.start);
		replace(timeline, rows.map(o => {
			const s = Math.max(since, o.start / 1000), e = Math.min(now, (o.end || now * 1000) / 1000);
			return h('span', {class: ['jm-tl-bar', 'jm-tl-' + o.cause], title: causeText(o.cause),
				style: {left: ((s - since) / span * 100).toFixed(2) + '%', width: Math.max(0.3, (e - s) / span * 100).toFixed(2) + '%'}});
		}));
		replace(list, rows.length ? rows.map(o => h('li', {class: 'jm-outage', 'data-cause': o.cause},
			h('span', {class: 'jm-outage-when', text: fmt.datetime(o.start / 1000)}), ' ',
			h('strong', {text: causeText(o.cause)}), ' ',
			h('span', {text: o.ongoing ? _f('ongoing for {dur}', {dur: fmt.duration(o.duration_s)}) : _f('for {dur}', {dur: fmt.duration(o.duration_s)})})))
			: h('li', {class: 'jm-muted', text: _('No outage in this range.')}));
	}

	load();
	return d;
}
