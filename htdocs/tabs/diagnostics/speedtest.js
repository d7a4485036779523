// Diagnostics → speed test (issue 16): per WAN, download or upload, a size and a server the
// router offers (or "auto": the nearest by latency through that WAN). The test runs as a job on
// the router; while it runs, the app's one scheduler polls `job?id=` every second (diagnostics.js
// asks jobActive() and calls refreshJob) — nothing here runs a timer of its own. Below: the
// stored results, a small chart per WAN (the app's one chart loader, charts.js) and a table.
//
// WAN labels, server labels and error texts come from the router: everything lands through
// dom.h as text.

import {h, replace} from '../../dom.js';
import {_, _f} from '../../i18n.js';
import {errorText} from '../../errors.js';
import * as fmt from '../../format.js';
import {badge, emptyNote} from '../../ui.js';
import {timeChart, COLORS} from '../../charts.js';

const WRITE_TIMEOUT_MS = 15000;   // speedtest.cancel waits up to 2 s for the job to stop
const TABLE_ROWS = 30;

const mbit = v => (typeof v === 'number' && isFinite(v) ? fmt.rate(v * 1e6 / 8) : fmt.DASH);
const dirText = d => (d === 'upload' ? _('Upload') : _('Download'));

export function createSpeedtest(ctx) {
	const {api} = ctx;
	let canWrite = ctx.canWrite;
	const writable = () => !ctx.readOnly && canWrite !== false;
	let data = null;          // GET speedtest
	let job = null;           // the newest speedtest job (as last polled)
	let busy = false;         // a POST from this page in flight
	let visible = true;
	let jobCtl = null;
	let server = 'auto';
	let size = null;
	const charts = new Map(); // wan → {el, chart, key}

	const msg = h('p', {class: 'jm-msg', hidden: true, role: 'status'});
	const serverSel = h('select', {class: 'jm-input', id: 'jm-st-server', 'data-write': '', onchange: () => { server = serverSel.value; render(); }});
	const sizeSel = h('select', {class: 'jm-input jm-input-short', id: 'jm-st-size', 'data-write': '', onchange: () => { size = Number(sizeSel.value); render(); }});
	const controls = h('div', {class: 'jm-st-controls'},
		h('div', {class: 'jm-field'}, h('label', {for: 'jm-st-server', text: _('Server')}), serverSel),
		h('div', {class: 'jm-field'}, h('label', {for: 'jm-st-size', text: _('Size')}), sizeSel));
	const wansBox = h('div', {class: 'jm-st-wans'});
	const progress = h('div', {class: 'jm-st-progress', hidden: true});
	const chartsBox = h('div', {class: 'jm-st-charts'});
	const history = h('div', {class: 'jm-table-wrap jm-st-history'});
	const el = h('section', {class: 'jm-speedtest', 'data-section': 'speedtest'},
		h('h3', {class: 'jm-section-title', text: _('Speed test')}),
		h('p', {class: 'jm-note', text: _('Measures one WAN at a time: the transfer is bound to that WAN, so the other links carry none of it.')}),
		msg, controls, wansBox, progress,
		h('h4', {text: _('History')}), chartsBox, history);
	replace(wansBox, emptyNote(_('Loading…')));

	const running = () => !!(job && job.state === 'running');
	const say = (text, kind = 'info') => {
		msg.hidden = !text;
		msg.dataset.kind = kind;
		msg.setAttribute('role', kind === 'error' ? 'alert' : 'status');
		msg.textContent = text || '';
	};

	const servers = () => (data && Array.isArray(data.servers) ? data.servers : []);
	const chosen = () => servers().find(s => s.id === server) || null;
	// Sizes offered for a direction by the chosen server (auto: by any server).
	function sizesFor(dir) {
		const list = server === 'auto' ? servers() : [chosen()].filter(Boolean);
		const out = new Set();
		for (const s of list) if (!dir || (s.directions || []).includes(dir)) for (const z of s.sizes || []) out.add(z);
		return [...out].sort((a, b) => a - b);
	}
	// Why `dir` cannot start with the current choices ('' when it can).
	function whyNot(dir) {
		if (!writable()) return _('Read-only session: changes are disabled.');
		if (server !== 'auto' && chosen() && !(chosen().directions || []).includes(dir)) {
			return dir === 'upload' ? _f('{server} offers no upload test.', {server: chosen().label}) : _f('{server} offers no download test.', {server: chosen().label});
		}
		if (!sizesFor(dir).includes(size)) return _f('No server offers {size} for this direction.', {size: _f('{n} MB', {n: size})});
		if (data && data.blocked) return errorText(data.blocked);
		if (running()) return _('A speed test is already running: wait for it or cancel it.');
		return '';
	}

	// ---- server calls ----
	async function start(wan, direction) {
		if (busy || running()) return;
		busy = true;
		say(_('Starting…'));
		render();
		try {
			const r = await api.post('speedtest.start', {wan, direction, size_mb: size, server}, {timeoutMs: WRITE_TIMEOUT_MS});
			job = r.job;
			say('');
			ctx.refresh(); // the scheduler now polls the job every second
		} catch (err) {
			say(errorText(err), 'error');
		} finally {
			busy = false;
			render();
		}
	}

	async function cancel() {
		if (busy || !running()) return;
		busy = true;
		render();
		try {
			const r = await api.post('speedtest.cancel', {id: job.id}, {timeoutMs: WRITE_TIMEOUT_MS});
			job = r.job;
		} catch (err) {
			say(errorText(err), 'error');
		} finally {
			busy = false;
			render();
		}
	}

	// ---- polling (by the tab's scheduler) ----
	const jobActive = () => Boolean(visible && running());

	async function refresh(signal) {
		visible = true;
		if (canWrite === undefined && !ctx.readOnly && ctx.session) {
			const s = await ctx.session();
			if (s && typeof s.write === 'boolean') canWrite = s.write;
		}
		const d = await api.get('speedtest', {signal});
		data = d;
		// Our own job's live state wins over a refresh that raced it.
		if (!(job && d.job && job.id === d.job.id && running() && d.job.state === 'running' && (job.updated_at || 0) > (d.job.updated_at || 0))) job = d.job || null;
		render();
	}

	async function refreshJob(signal) {
		if (!jobActive()) return refresh(signal);
		const ctl = new AbortController();
		jobCtl = ctl;
		const stop = () => ctl.abort();
		signal?.addEventListener('abort', stop);
		try {
			const d = await api.get('job', {query: {id: job.id}, signal: ctl.signal});
			if (!job || ctl.signal.aborted || d.id !== job.id) return;
			job = d;
			renderProgress();
			if (!running()) await refresh(signal); // the result is in the history now
		} catch (err) {
			if (ctl.signal.aborted || (err && err.name === 'AbortError')) return;
			if (err && (err.status === 404 || err.status === 400)) {
				job = {...job, state: 'failed', error: errorText(err)};
				render();
			}
		} finally {
			signal?.removeEventListener('abort', stop);
			if (jobCtl === ctl) jobCtl = null;
		}
	}

	// ---- rendering ----
	function renderControls() {
		const list = servers();
		const ids = ['auto', ...list.map(s => s.id)];
		if (!ids.includes(server)) server = 'auto';
		const key = ids.join('\n') + '\n' + list.map(s => s.label).join('\n');
		if (serverSel.dataset.key !== key) {
			serverSel.dataset.key = key;
			replace(serverSel, h('option', {value: 'auto', text: _('Auto (nearest)')}),
				list.map(s => h('option', {value: s.id, text: String(s.label || s.id)})));
		}
		serverSel.value = server;
		const sizes = sizesFor(null);
		if (!sizes.includes(size)) size = sizes.includes(10) ? 10 : (sizes[0] ?? null);
		const skey = sizes.join(',');
		if (sizeSel.dataset.key !== skey) {
			sizeSel.dataset.key = skey;
			replace(sizeSel, sizes.map(z => h('option', {value: String(z), text: _f('{n} MB', {n: z})})));
		}
		if (size != null) sizeSel.value = String(size);
		const lock = !writable() || busy || running();
		serverSel.disabled = lock;
		sizeSel.disabled = lock;
	}

	function lastResult(wan, dir) {
		return ((data && data.history) || []).find(r => r.wan === wan && r.direction === dir) || null;
	}

	function renderWans() {
		const wans = (data && data.wans) || [];
		if (!wans.length) { replace(wansBox, emptyNote(_('No WANs found.'))); return; }
		replace(wansBox, h('table', {class: 'jm-table jm-st-wan-table'},
			h('thead', {}, h('tr', {},
				h('th', {text: _('WAN')}), h('th', {text: _('Device')}),
				h('th', {class: 'jm-num', text: _('Download')}), h('th', {class: 'jm-num', text: _('Upload')}), h('th', {}))),
			h('tbody', {}, wans.map(w => {
				const down = lastResult(w.name, 'download'), up = lastResult(w.name, 'upload');
				const btn = dir => {
					const why = w.address ? whyNot(dir) : _('This WAN has no IPv4 address (it is down): nothing to test.');
					return h('button', {type: 'button', class: 'jm-btn', 'data-write': '', 'data-action': 'st-' + dir, 'data-wan': w.name,
						disabled: !!why || busy, title: why, text: (dir === 'upload' ? '↑ ' : '↓ ') + dirText(dir),
						onclick: () => start(w.name, dir)});
				};
				return h('tr', {'data-wan': w.name},
					h('td', {}, String(w.label || w.name), w.label ? h('div', {class: 'jm-muted jm-small', text: w.name}) : null),
					h('td', {class: 'jm-mono'}, String(w.device || fmt.DASH), h('div', {class: 'jm-muted jm-small', text: w.address || _('no IPv4 address')})),
					h('td', {class: 'jm-num', title: down ? fmt.datetime(down.ts) : ''}, mbit(down && down.mbps)),
					h('td', {class: 'jm-num', title: up ? fmt.datetime(up.ts) : ''}, mbit(up && up.mbps)),
					h('td', {}, h('div', {class: 'jm-st-btns'}, btn('download'), btn('upload'))));
			}))));
	}

	function renderProgress() {
		const j = job;
		progress.hidden = !j;
		progress.dataset.job = j ? String(j.id || '') : '';
		progress.dataset.state = j ? String(j.state || '') : '';
		if (!j) return;
		const d = j.detail && typeof j.detail === 'object' ? j.detail : {};
		const res = j.result && typeof j.result === 'object' ? j.result : {};
		const src = j.state === 'done' ? res : d;
		const head = j.state === 'done' ? badge(_('done'), 'ok')
			: j.state === 'failed' ? badge(j.phase === 'cancelled' ? _('cancelled') : _('failed'), j.phase === 'cancelled' ? 'muted' : 'bad')
			: badge(_('running'), 'info');
		const what = _f('{direction} {size} via {wan}', {
			direction: dirText(src.direction || d.direction), size: _f('{n} MB', {n: src.size_mb ?? d.size_mb ?? fmt.DASH}), wan: String(src.wan || d.wan || '')});
		const srv = src.server_label || d.server_label;
		const bar = h('progress', {max: 100, 'aria-label': _('Speed test progress')});
		if (j.state === 'running' && typeof j.pct === 'number') bar.value = Math.max(0, Math.min(100, j.pct));
		let text;
		if (j.state === 'failed') text = j.phase === 'cancelled' ? _('Cancelled: nothing was stored.') : String(j.error || _('The speed test failed.'));
		else if (j.state === 'done') text = _f('{speed} ({bytes} in {seconds} s)', {speed: mbit(res.mbps), bytes: fmt.bytes(res.bytes), seconds: fmt.decimal(res.seconds, 1)});
		else if (j.phase === 'probing' || !srv) text = _f('Measuring the latency of the servers through {wan}…', {wan: String(d.wan || '')});
		else text = _f('{bytes} of {total}', {bytes: fmt.bytes(d.bytes), total: fmt.bytes(d.bytes_total)});
		const stat = (label, value, key) => h('div', {class: 'jm-st-stat', 'data-stat': key}, h('span', {class: 'jm-muted', text: label}), h('strong', {text: value}));
		replace(progress,
			h('div', {class: 'jm-job-head'}, head, h('span', {text: what}), srv ? h('span', {class: 'jm-muted', text: String(srv)}) : null,
				j.state === 'running' ? h('button', {type: 'button', class: 'jm-btn', 'data-write': '', 'data-action': 'st-cancel', disabled: busy || !writable(), text: _('Cancel'), onclick: cancel}) : null),
			j.state === 'running' ? bar : null,
			h('p', {class: ['jm-job-msg', j.state === 'failed' && j.phase !== 'cancelled' && 'jm-bad-text'], 'data-state': j.state, text}),
			j.state === 'failed' ? null : h('div', {class: 'jm-st-stats'},
				j.state === 'running' ? stat(_('Now'), mbit(d.mbps_now), 'now') : null,
				stat(_('Average'), mbit(j.state === 'done' ? res.mbps : d.mbps_avg), 'avg'),
				stat(_('Elapsed'), j.state === 'done' ? fmt.duration(res.seconds) : fmt.duration(d.elapsed_s), 'elapsed'),
				stat(_('Latency idle'), fmt.ms(src.latency_idle_ms), 'latency-idle'),
				stat(_('Latency under load'), fmt.ms(src.latency_load_ms), 'latency-load')));
	}

	function renderCharts() {
		const rows = (data && data.history) || [];
		const wans = (data && data.wans) || [];
		for (const [name, c] of charts) {
			if (!wans.some(w => w.name === name)) { c.chart.destroy(); c.el.remove(); charts.delete(name); }
		}
		for (const w of wans) {
			// Oldest first; download and upload points share one time axis (null where the other ran).
			const mine = rows.filter(r => r.wan === w.name).slice().sort((a, b) => a.ts - b.ts);
			let c = charts.get(w.name);
			if (!mine.length) {
				if (c) { c.chart.destroy(); c.el.remove(); charts.delete(w.name); }
				continue;
			}
			if (!c) {
				const box = h('div', {class: 'jm-st-chart-plot'});
				const cel = h('div', {class: 'jm-st-chart', 'data-wan': w.name}, h('div', {class: 'jm-st-chart-title', text: String(w.label || w.name)}), box);
				chartsBox.appendChild(cel);
				c = {el: cel, chart: timeChart(box, {height: 120, unit: 'Mbit/s', points: true,
					series: [{label: _('Download'), stroke: COLORS.down}, {label: _('Upload'), stroke: COLORS.up}]}), key: ''};
				charts.set(w.name, c);
			}
			const key = mine.map(r => r.id).join(',');
			if (c.key !== key) {
				c.key = key;
				c.chart.setData(mine.map(r => r.ts),
					mine.map(r => (r.direction === 'download' ? r.mbps : null)),
					mine.map(r => (r.direction === 'upload' ? r.mbps : null)));
			}
		}
	}

	function renderHistory() {
		const rows = ((data && data.history) || []).slice(0, TABLE_ROWS);
		const labels = new Map(((data && data.wans) || []).map(w => [w.name, w.label || w.name]));
		replace(history, rows.length ? h('table', {class: 'jm-table jm-st-table'},
			h('thead', {}, h('tr', {},
				h('th', {text: _('Time')}), h('th', {text: _('WAN')}), h('th', {text: _('Direction')}), h('th', {text: _('Server')}),
				h('th', {class: 'jm-num', text: _('Size')}), h('th', {class: 'jm-num', text: _('Speed')}),
				h('th', {class: 'jm-num', text: _('Latency idle')}), h('th', {class: 'jm-num', text: _('Latency under load')}))),
			h('tbody', {}, rows.map(r => h('tr', {'data-id': String(r.id), 'data-wan': String(r.wan), 'data-direction': String(r.direction)},
				h('td', {text: fmt.datetime(r.ts)}),
				h('td', {text: String(labels.get(r.wan) || r.wan)}),
				h('td', {text: dirText(r.direction)}),
				h('td', {text: String(r.server_label || r.server)}),
				h('td', {class: 'jm-num', text: _f('{n} MB', {n: r.size_mb})}),
				h('td', {class: 'jm-num jm-st-mbps', 'data-mbps': String(r.mbps)}, mbit(r.mbps),
					r.complete === false ? [' ', badge(_('partial'), 'warn', _('The time limit cut the transfer; the speed is over the bytes moved.'))] : null),
				h('td', {class: 'jm-num', text: fmt.ms(r.latency_idle_ms)}),
				h('td', {class: 'jm-num', text: fmt.ms(r.latency_load_ms)}))))) : emptyNote(_('No speed tests yet.')));
	}

	function render() {
		renderControls();
		renderWans();
		renderProgress();
		renderCharts();
		renderHistory();
		if (data && data.blocked && !running()) say(errorText(data.blocked), 'warn');
		else if (msg.dataset.kind === 'warn') say('');
	}

	function destroyCharts() {
		for (const c of charts.values()) c.chart.destroy();
		charts.clear();
		chartsBox.replaceChildren();
	}

	return {
		el, refresh, refreshJob, jobActive,
		hide() { visible = false; if (jobCtl) jobCtl.abort(); },
		destroy() { visible = false; if (jobCtl) jobCtl.abort(); destroyCharts(); },
	};
}
