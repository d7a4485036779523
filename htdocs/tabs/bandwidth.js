// Bandwidth tab: Realtime (rates from the kernel counters, every 3 s), Hourly (24 h), Daily
// (30 d) and Monthly history from the collector's database, per WAN, per interface or all
// WANs combined; stacked download/upload bars with the numbers in a table beside them; CSV
// export through the API client (fetch with the Bearer header, saved from a Blob).
//
// Requests: only the visible sub-view polls. Realtime asks `bandwidth?range=realtime` every
// 3 s; a history view loads once and then at most every 60 s (the poller ticks every 3 s,
// a history tick without a due refresh sends nothing).
//
// What a total sums comes from the server (`sums`, `excluded` with reasons) and is shown as
// is: the WAN total never adds the tunnel or the LAN side (the same bytes would count twice).

import {h, replace, setText} from '../dom.js';
import {_, _f, gettext_noop, currentLang} from '../i18n.js';
import {errorText} from '../errors.js';
import * as fmt from '../format.js';
import {badge, emptyNote, configErrors} from '../ui.js';
import {createThroughput} from '../throughput.js';
import {stackedBars, rateLines} from './bandwidth/chart.js';

export const INTERVAL_MS = 3000;
const HISTORY_REFRESH_MS = 60000;
const REALTIME_POINTS = 200; // 10 min at 3 s
const PREFS_KEY = 'jammonitor.bandwidth';
const TOTAL = ' total'; // key of the summed counters (no device name has a space)

const VIEWS = [
	['realtime', gettext_noop('Realtime'), gettext_noop('Live rates from the interface counters, updated every 3 s.')],
	['hourly', gettext_noop('Hourly'), gettext_noop('The last 24 hours, router local time; the current hour is the last one.')],
	['daily', gettext_noop('Daily'), gettext_noop('The last 30 days, router local time; today is the last one.')],
	['monthly', gettext_noop('Monthly'), gettext_noop('Every month since the first recorded one.')],
];
const UNITS = ['auto', 'B', 'KiB', 'MiB', 'GiB'];
const UNIT_SIZE = {B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4};
// Axis steps in the shown unit: 1, 2, 2.5, 5 × 10^k (so ticks read 20 MiB, 40 MiB…).
const NICE = [-2, -1, 0, 1, 2, 3, 4].flatMap(k => [1, 2, 2.5, 5].map(m => m * 10 ** k));

const ok = v => typeof v === 'number' && Number.isFinite(v);
const n0 = v => (ok(v) ? v : 0);
// A table cell whose text is coloured (on a span: a coloured cell would tint its border too).
const cell = (text, cls) => h('td', {}, h('span', {class: cls, text}));

// Bytes in a fixed unit ("1,234 MiB"), or automatic ("1.2 GiB").
export function bytesIn(v, unit) {
	if (!ok(v)) return fmt.DASH;
	if (!UNIT_SIZE[unit]) return fmt.bytes(v);
	const x = v / UNIT_SIZE[unit];
	return x.toLocaleString(currentLang(), {maximumFractionDigits: unit === 'B' ? 0 : x < 10 ? 2 : 1}) + ' ' + unit;
}

// The unit "auto" picks for a chart axis, so every tick shares one unit.
function axisUnit(max) {
	let u = 'B';
	for (const k of ['KiB', 'MiB', 'GiB', 'TiB']) if (max >= UNIT_SIZE[k]) u = k;
	return u;
}

function loadPrefs() {
	let p = {};
	try { p = JSON.parse(localStorage.getItem(PREFS_KEY) || '{}') || {}; } catch { /* defaults */ }
	return {
		view: VIEWS.some(v => v[0] === p.view) ? p.view : 'realtime',
		iface: typeof p.iface === 'string' && /^[A-Za-z0-9_.@-]{1,32}$/.test(p.iface) ? p.iface : 'wans',
		unit: UNITS.includes(p.unit) ? p.unit : 'auto',
	};
}

export function create(ctx) {
	const {api} = ctx;
	const prefs = loadPrefs();
	let {view, iface, unit} = prefs;
	const savePrefs = () => {
		try { localStorage.setItem(PREFS_KEY, JSON.stringify({view, iface, unit})); } catch { /* private mode */ }
	};

	// ---- static layout (controls live outside the re-rendered regions) ----
	const age = h('span', {class: 'jm-age'});
	const viewBtns = VIEWS.map(([id, title]) => h('button', {
		type: 'button', class: 'jm-seg', role: 'tab', 'data-view': id, text: _(title),
		onclick: () => setView(id),
	}));
	const viewHint = h('p', {class: 'jm-note jm-bw-hint'});
	const ifaceSel = h('select', {class: 'jm-input', id: 'jm-bw-iface', onchange: () => setIface(ifaceSel.value)});
	const unitSel = h('select', {class: 'jm-input', id: 'jm-bw-unit', onchange: () => { unit = unitSel.value; savePrefs(); redraw(); }},
		UNITS.map(u => h('option', {value: u, text: u === 'auto' ? _('Automatic') : u, selected: u === unit})));
	const unitField = h('div', {class: 'jm-bw-field'}, h('label', {for: 'jm-bw-unit', text: _('Units')}), unitSel);
	const csvBtn = h('button', {type: 'button', class: 'jm-btn', 'data-action': 'csv', text: _('Download CSV'), onclick: () => downloadCsv()});
	const csvMsg = h('span', {class: 'jm-muted jm-bw-csvmsg', role: 'status'});
	const scope = h('div', {class: 'jm-bw-scope'});
	const status = h('p', {class: 'jm-note jm-bw-status', hidden: true});
	const legend = h('div', {class: 'jm-bw-legend'});
	const graph = h('div', {class: 'jm-bw-graph'});
	const chartBox = h('div', {class: 'jm-bw-chart'}, legend, graph);
	const tableBox = h('div', {class: 'jm-bw-table'});
	const cfgErr = configErrors();
	const el = h('div', {class: 'jm-bw', 'data-panel': 'bandwidth'},
		h('div', {class: 'jm-tab-head'}, h('h3', {text: _('Bandwidth')}), age),
		cfgErr.el,
		h('div', {class: 'jm-bw-bar'},
			h('div', {class: 'jm-segs', role: 'tablist', 'aria-label': _('Time range')}, viewBtns),
			h('div', {class: 'jm-bw-controls'},
				h('div', {class: 'jm-bw-field'}, h('label', {for: 'jm-bw-iface', text: _('Interface')}), ifaceSel),
				unitField,
				h('div', {class: 'jm-bw-field jm-bw-csv'}, csvBtn, csvMsg))),
		viewHint, scope, status,
		h('div', {class: 'jm-bw-main'}, chartBox, tableBox));

	// ---- state ----
	const cache = new Map(); // "view|iface" → {data, at} (history answers)
	let shown = null;         // the answer on screen: {data, at}
	let known = {wans: [], others: []}; // interface choices, from `wans`/`all` answers
	let knownKey = '';
	let chart = null, chartKind = null;
	let rowByIndex = [];
	let rt = null;            // realtime: {iface, tp, t: [], rx: [], tx: []}
	let notice = '';          // a one-time note (e.g. a vanished interface)

	// ---- interface choices ----
	function learn(d) {
		if (d.iface !== 'wans' && d.iface !== 'all') return;
		const wans = new Map(known.wans.map(w => [w.name, w]));
		const others = new Set(known.others);
		const add = i => {
			if (!i || typeof i.name !== 'string') return;
			if (typeof i.wan === 'string' && i.wan) wans.set(i.wan, {name: i.wan, label: i.label, device: i.name});
			else others.add(i.name);
		};
		for (const i of Array.isArray(d.interfaces) ? d.interfaces : []) add(i);
		for (const x of Array.isArray(d.excluded) ? d.excluded : []) if (x && typeof x.name === 'string') others.add(x.name);
		for (const w of wans.values()) others.delete(w.device);
		known = {
			wans: [...wans.values()].sort((a, b) => a.name.localeCompare(b.name)),
			others: [...others].sort(),
		};
		renderChoices();
	}

	function renderChoices() {
		const key = JSON.stringify([known, iface]);
		if (key === knownKey) return;
		knownKey = key;
		const listed = new Set(['wans', 'all', ...known.wans.map(w => w.name), ...known.others]);
		replace(ifaceSel,
			h('optgroup', {label: _('Combined')},
				h('option', {value: 'wans', text: _('All WANs (sum)')}),
				h('option', {value: 'all', text: _('Each interface, no total')})),
			known.wans.length ? h('optgroup', {label: _('WANs')}, known.wans.map(w =>
				h('option', {value: w.name, text: (w.label || w.name) + ' (' + (w.label ? w.name + ', ' : '') + (w.device || '?') + ')'}))) : null,
			known.others.length ? h('optgroup', {label: _('Other interfaces')}, known.others.map(n => h('option', {value: n, text: n}))) : null,
			listed.has(iface) ? null : h('option', {value: iface, text: iface}));
		ifaceSel.value = iface;
	}

	// ---- switching ----
	function setView(id) {
		if (id === view) return;
		view = id;
		savePrefs();
		if (view !== 'realtime') rt = null; // realtime restarts cleanly when we come back
		notice = '';
		showCurrent();
		ctx.refresh();
	}

	function setIface(v) {
		if (v === iface) return;
		iface = v;
		savePrefs();
		rt = null;
		notice = '';
		renderChoices();
		showCurrent();
		ctx.refresh();
	}

	const cacheKey = () => view + '|' + iface;

	// Shows what we already have for the current choice (or "Loading…") without a request.
	function showCurrent() {
		for (const b of viewBtns) {
			const on = b.dataset.view === view;
			b.classList.toggle('jm-active', on);
			b.setAttribute('aria-selected', on ? 'true' : 'false');
		}
		const v = VIEWS.find(x => x[0] === view);
		setText(viewHint, _(v[2]));
		unitField.hidden = false;
		el.dataset.view = view;
		const c = view === 'realtime' ? null : cache.get(cacheKey());
		shown = c || null;
		if (c) renderHistory(c.data);
		else {
			useChart(null);
			replace(scope);
			replace(legend);
			replace(tableBox, emptyNote(_('Loading…')));
			setStatus(notice);
		}
		tick();
	}

	function setStatus(text, kind) {
		status.hidden = !text;
		setText(status, text || '');
		if (kind) status.dataset.kind = kind; else delete status.dataset.kind;
	}

	function useChart(kind) {
		if (kind === chartKind && chart) return chart;
		if (chart) chart.destroy();
		chart = null;
		chartKind = kind;
		replace(graph);
		graph.hidden = !kind;
		if (kind === 'bars') {
			chart = stackedBars(graph, {
				names: {down: _('Download'), up: _('Upload')},
				labelAt: i => labels[i] ?? '',
				fmtY: v => bytesIn(v, yUnit),
				incrs: () => NICE.filter(m => yUnit !== 'B' || m >= 1).map(m => m * UNIT_SIZE[yUnit]),
				onHover: i => highlight(i),
			});
		} else if (kind === 'lines') {
			chart = rateLines(graph, {names: {down: _('Download'), up: _('Upload')}, fmtY: v => fmt.rate(v)});
		}
		return chart;
	}
	let yUnit = 'B';
	let labels = []; // x tick texts of the bar chart

	// ---- requests ----
	async function refresh(signal) {
		if (view === 'realtime') {
			const d = await fetchSel('realtime', signal);
			if (!d || view !== 'realtime' || d.iface !== iface) return;
			shown = {data: d, at: performance.now()};
			learn(d);
			renderRealtime(d);
		} else {
			const key = cacheKey();
			const c = cache.get(key);
			if (c && performance.now() - c.at < HISTORY_REFRESH_MS) return; // nothing due: no request
			const range = view;
			const d = await fetchSel(range, signal);
			if (!d) return;
			const entry = {data: d, at: performance.now()};
			cache.set(range + '|' + d.iface, entry);
			learn(d);
			if (view !== range || iface !== d.iface) return; // the choice changed meanwhile
			shown = entry;
			renderHistory(d);
		}
		tick();
	}

	// An interface that vanished from the router and its history falls back to all WANs.
	async function fetchSel(range, signal) {
		try {
			return await api.get('bandwidth', {query: {range, iface}, signal});
		} catch (err) {
			if (err && err.code === 'invalid_field' && err.field === 'iface' && iface !== 'wans') {
				notice = _f('{name}: {message}. Showing all WANs instead.', {name: iface, message: errorText(err)});
				iface = 'wans';
				savePrefs();
				rt = null;
				renderChoices();
				showCurrent();
				return api.get('bandwidth', {query: {range, iface}, signal});
			}
			throw err;
		}
	}

	// ---- CSV ----
	async function downloadCsv() {
		csvBtn.disabled = true;
		setText(csvMsg, _('Preparing…'));
		try {
			await api.download('bandwidth.csv', {query: {range: view, iface}, filename: `jammonitor-bandwidth-${view}-${iface}.csv`});
			setText(csvMsg, '');
		} catch (err) {
			setText(csvMsg, err && err.name === 'AbortError' ? '' : _f('CSV download failed: {message}', {message: errorText(err)}));
		} finally {
			csvBtn.disabled = false;
		}
	}

	// ---- what a total covers ----
	function describe(i) {
		if (!i) return '';
		const name = i.label || i.wan;
		return name ? `${name} (${i.wan && i.label ? i.wan + ', ' : ''}${i.name})` : i.name;
	}

	function renderScope(d) {
		const ifs = Array.isArray(d.interfaces) ? d.interfaces : [];
		const excluded = Array.isArray(d.excluded) ? d.excluded : [];
		let line;
		if (d.iface === 'wans') {
			line = ifs.length
				? _f('All WANs: the sum of {list}.', {list: ifs.map(describe).join(', ')})
				: _('No WAN interface is selected, so there is nothing to sum.');
		} else if (d.iface === 'all') {
			line = _('Every interface on its own, with no combined total: a sum across LAN, WAN and tunnel would count the same bytes two or three times.');
		} else {
			line = _f('One interface: {name}.', {name: describe(ifs[0]) || d.iface});
		}
		replace(scope, h('p', {class: 'jm-note', text: line}),
			excluded.length ? h('details', {class: 'jm-bw-excluded'},
				h('summary', {text: _f('Not added to the total ({n})', {n: excluded.length})}),
				h('ul', {class: 'jm-list'}, excluded.map(x => h('li', {},
					h('strong', {text: String(x.name)}), ' — ', h('span', {class: 'jm-muted', text: String(x.reason || '')}))))) : null);
	}

	// rx is download on a WAN device; anywhere else say received/sent.
	function words(d) {
		const ifs = Array.isArray(d.interfaces) ? d.interfaces : [];
		const wan = ifs.length > 0 && ifs.every(i => i && i.wan);
		return wan ? {down: _('Download'), up: _('Upload')} : {down: _('Received (rx)'), up: _('Sent (tx)')};
	}

	function renderLegend(w, extra) {
		replace(legend,
			h('span', {class: 'jm-bw-key jm-bw-key-down', text: w.down}),
			h('span', {class: 'jm-bw-key jm-bw-key-up', text: w.up}),
			extra ? h('span', {class: 'jm-muted', text: extra}) : null);
	}

	// ---- history ----
	function tickLabel(d, i) {
		const b = d && Array.isArray(d.buckets) ? d.buckets[i] : null;
		if (!b || typeof b.label !== 'string') return '';
		if (d.range === 'hourly') return b.label.slice(11, 16) || b.label;
		if (d.range === 'daily') return b.label.slice(5) || b.label;
		return b.label;
	}

	// Share of the bucket the collector covered (so "no traffic" differs from "not running").
	function coverage(d, i) {
		const bs = d.buckets;
		const b = bs[i];
		if (!ok(b.start)) return null;
		const end = i + 1 < bs.length && ok(bs[i + 1].start) ? bs[i + 1].start : d.generated_at;
		const span = Math.min(end, n0(d.generated_at)) - b.start;
		if (!(span > 0) || !ok(b.seconds)) return null;
		return Math.min(100, (b.seconds / span) * 100);
	}

	function renderHistory(d) {
		cfgErr.update(d.errors);
		const buckets = Array.isArray(d.buckets) ? d.buckets : [];
		renderScope(d);
		const notes = [];
		if (notice) notes.push(notice);
		if (d.available === false) notes.push(_('No history yet: the collector has not recorded anything. Its state is under Diagnostics.'));
		else if (d.db && d.db.placement === 'ram') notes.push(_('History is kept in RAM and saved to flash every few hours (no USB storage mounted).'));
		setStatus(notes.join(' '), d.available === false ? 'warn' : null);
		const w = words(d);
		rowByIndex = [];

		if (d.sums == null || !d.totals) {
			// Every interface separately: one bar per interface over the range, nothing added up.
			const ifs = Array.isArray(d.interfaces) ? d.interfaces : [];
			const sums = ifs.map(i => {
				let rx = 0, tx = 0;
				for (const b of buckets) {
					const v = b.by_iface && b.by_iface[i.name];
					if (Array.isArray(v)) { rx += n0(v[0]); tx += n0(v[1]); }
				}
				return [rx, tx];
			});
			labels = ifs.map(i => i.name);
			yUnit = unit === 'auto' ? axisUnit(Math.max(0, ...sums.map(([r, t]) => r + t))) : unit;
			renderLegend(w, _('One bar per interface for the whole range: they are not added together.'));
			if (ifs.length) useChart('bars').set(sums.map(x => x[0]), sums.map(x => x[1])); else useChart(null);
			const rows = ifs.map((i, k) => {
				const [rx, tx] = sums[k];
				return (rowByIndex[k] = h('tr', {'data-iface': i.name, 'data-rx': rx, 'data-tx': tx},
					h('th', {scope: 'row', text: describe(i)}),
					cell(bytesIn(rx, unit), 'jm-down'), cell(bytesIn(tx, unit), 'jm-up'), h('td', {text: bytesIn(rx + tx, unit)})));
			});
			replace(tableBox, rows.length ? h('div', {class: 'jm-table-wrap'}, h('table', {class: 'jm-table jm-bw-tbl'},
				h('caption', {class: 'jm-muted', text: _('Totals over the whole range')}),
				h('thead', {}, h('tr', {}, [_('Interface'), _('Received (rx)'), _('Sent (tx)'), _('Total')].map(t => h('th', {scope: 'col', text: t})))),
				h('tbody', {}, rows))) : emptyNote(_('No interface has been recorded yet.')));
			return;
		}

		const rx = buckets.map(b => n0(b.rx)), tx = buckets.map(b => n0(b.tx));
		labels = buckets.map((b, i) => tickLabel(d, i));
		const max = Math.max(0, ...rx.map((r, i) => r + tx[i]));
		yUnit = unit === 'auto' ? axisUnit(max) : unit;
		renderLegend(w);
		useChart('bars').set(rx, tx);

		// Newest first: the period you are most likely looking for is on top.
		const rows = [];
		for (let i = buckets.length - 1; i >= 0; i--) {
			const b = buckets[i];
			const cov = coverage(d, i);
			const covCell = b.samples === 0 || cov === 0
				? h('td', {class: 'jm-muted jm-cov', text: fmt.DASH, title: _('Not recorded: the collector was not running during this period.')})
				: h('td', {class: 'jm-cov', text: cov > 0 && cov < 1 ? '< 1 %' : fmt.pct(cov, 0), title: _('Share of this period the collector recorded')});
			const tr = h('tr', {'data-start': b.start, 'data-rx': n0(b.rx), 'data-tx': n0(b.tx), 'data-index': i},
				h('th', {scope: 'row', text: view === 'hourly' ? String(b.label ?? '').slice(5) : String(b.label ?? fmt.DASH), title: String(b.label ?? '')}),
				cell(bytesIn(b.rx, unit), 'jm-down'),
				cell(bytesIn(b.tx, unit), 'jm-up'),
				h('td', {text: bytesIn(n0(b.rx) + n0(b.tx), unit)}),
				covCell);
			rowByIndex[i] = tr;
			rows.push(tr);
		}
		const t = d.totals;
		replace(tableBox, h('div', {class: 'jm-table-wrap'}, h('table', {class: 'jm-table jm-bw-tbl'},
			h('thead', {}, h('tr', {}, [view === 'hourly' ? _('Hour') : view === 'daily' ? _('Day') : _('Month'), w.down, w.up, _('Total'), _('Recorded')]
				.map((x, i) => h('th', {scope: 'col', text: x, class: i === 4 ? 'jm-cov' : null})))),
			h('tbody', {}, rows),
			h('tfoot', {}, h('tr', {class: 'jm-bw-total', 'data-rx': n0(t.rx), 'data-tx': n0(t.tx)},
				h('th', {scope: 'row', text: _('Total')}),
				cell(bytesIn(t.rx, unit), 'jm-down'),
				cell(bytesIn(t.tx, unit), 'jm-up'),
				h('td', {text: bytesIn(n0(t.rx) + n0(t.tx), unit)}),
				h('td', {class: 'jm-cov'}))))));
	}

	function highlight(i) {
		for (const r of tableBox.querySelectorAll('tr.jm-hl')) r.classList.remove('jm-hl');
		if (i != null && rowByIndex[i]) rowByIndex[i].classList.add('jm-hl');
	}

	// ---- realtime ----
	function renderRealtime(d) {
		cfgErr.update(d.errors);
		if (!rt || rt.iface !== d.iface) rt = {iface: d.iface, tp: createThroughput(), t: [], rx: [], tx: []};
		const counters = {ts_ms: d.ts_ms, interfaces: {}};
		const ifs = Array.isArray(d.interfaces) ? d.interfaces : [];
		for (const i of ifs) if (i && i.present && ok(i.rx_bytes) && ok(i.tx_bytes)) counters.interfaces[i.name] = {rx_bytes: i.rx_bytes, tx_bytes: i.tx_bytes};
		const total = d.total && ok(d.total.rx_bytes) ? d.total : null;
		if (total) counters.interfaces[TOTAL] = total;
		const prevT = rt.t.length ? rt.t[rt.t.length - 1] : null;
		const rates = rt.tp.add(counters);
		const r = rates.get(TOTAL);
		if (r && ok(d.ts_ms)) {
			const t = d.ts_ms / 1000;
			// A missed poll (backoff, hidden tab) leaves a gap instead of a straight line.
			if (prevT != null && t - prevT > 3 * INTERVAL_MS / 1000) { rt.t.push(prevT + 0.001); rt.rx.push(null); rt.tx.push(null); }
			rt.t.push(t); rt.rx.push(r.rx); rt.tx.push(r.tx);
			while (rt.t.length > REALTIME_POINTS) { rt.t.shift(); rt.rx.shift(); rt.tx.shift(); }
		}

		renderScope(d);
		setStatus(notice);
		const w = words(d);
		const wDown = w.down, wUp = w.up;
		if (total) {
			renderLegend(w, r ? _f('now: ↓ {down} ↑ {up}', {down: fmt.rate(r.rx), up: fmt.rate(r.tx)}) : _('measuring…'));
			const c = useChart('lines');
			if (rt.t.length) c.set(rt.t, rt.rx, rt.tx);
			graph.dataset.points = String(rt.t.length);
			graph.dataset.maxRate = String(Math.max(0, ...rt.rx.filter(ok), ...rt.tx.filter(ok)));
		} else {
			useChart(null);
			renderLegend(w, _('No combined chart: the interfaces are not added together.'));
		}

		const rateCells = key => {
			const x = rates.get(key);
			return [
				cell(x ? fmt.rate(x.rx) : _('measuring…'), 'jm-down'),
				cell(x ? fmt.rate(x.tx) : _('measuring…'), 'jm-up'),
			];
		};
		const rows = ifs.map(i => {
			const x = rates.get(i.name);
			return h('tr', {'data-iface': i.name, 'data-rx-rate': x && ok(x.rx) ? x.rx : '', 'data-tx-rate': x && ok(x.tx) ? x.tx : ''},
				h('th', {scope: 'row'}, describe(i), i.present === false ? [' ', badge(_('absent'), 'muted', _('The interface does not exist right now'))] : null),
				rateCells(i.name),
				h('td', {text: bytesIn(i.rx_bytes, unit)}),
				h('td', {text: bytesIn(i.tx_bytes, unit)}));
		});
		if (total && ifs.length > 1) {
			rows.push(h('tr', {class: 'jm-bw-total'},
				h('th', {scope: 'row', text: _('Total')}), rateCells(TOTAL),
				h('td', {text: bytesIn(total.rx_bytes, unit)}), h('td', {text: bytesIn(total.tx_bytes, unit)})));
		}
		replace(tableBox, rows.length ? h('div', {class: 'jm-table-wrap'}, h('table', {class: 'jm-table jm-bw-tbl jm-bw-rt'},
			h('thead', {}, h('tr', {}, [_('Interface'), wDown, wUp, _('Received since boot'), _('Sent since boot')].map(x => h('th', {scope: 'col', text: x})))),
			h('tbody', {}, rows))) : emptyNote(_('No interface to show.')));
	}

	// Unit change: redraw what is shown, no request.
	function redraw() {
		if (!shown) return;
		if (view === 'realtime') {
			// Re-rendering would feed the same sample twice: only the byte columns depend on the unit.
			const d = shown.data;
			for (const i of Array.isArray(d.interfaces) ? d.interfaces : []) {
				const row = [...tableBox.querySelectorAll('tr[data-iface]')].find(r => r.dataset.iface === i.name);
				if (row) { setText(row.cells[3], bytesIn(i.rx_bytes, unit)); setText(row.cells[4], bytesIn(i.tx_bytes, unit)); }
			}
			const tot = tableBox.querySelector('tr.jm-bw-total');
			if (tot && d.total) { setText(tot.cells[3], bytesIn(d.total.rx_bytes, unit)); setText(tot.cells[4], bytesIn(d.total.tx_bytes, unit)); }
		} else {
			renderHistory(shown.data);
		}
	}

	// ---- ages ----
	function tick() {
		if (!shown) { setText(age, ''); return; }
		const elapsed = (performance.now() - shown.at) / 1000;
		setText(age, view === 'realtime'
			? _f('updated {age}', {age: fmt.age(elapsed)})
			: _f('loaded {age}, refreshed every minute', {age: fmt.age(elapsed)}));
		const limit = view === 'realtime' ? 3 * INTERVAL_MS : 3 * HISTORY_REFRESH_MS;
		el.classList.toggle('jm-stale', elapsed * 1000 > limit);
	}

	renderChoices();
	showCurrent();

	return {
		el, intervalMs: INTERVAL_MS, refresh, tick,
		hide() { rt = null; },
		destroy() { if (chart) chart.destroy(); chart = null; },
	};
}
