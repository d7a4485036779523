// Bandwidth charts on the vendored uPlot: stacked download/upload bars for the history views
// and a rate line chart for realtime. uPlot is loaded once, by whichever module asks first
// (htdocs/charts.js adds the same <script>; we reuse it instead of loading it twice).

import {COLORS} from '../../charts.js';

const JS = new URL('../../vendor/uplot/uPlot.iife.min.js', import.meta.url).href;
const CSS = new URL('../../vendor/uplot/uPlot.min.css', import.meta.url).href;
let loading = null;

function loadUPlot() {
	if (window.uPlot) return Promise.resolve(window.uPlot);
	if (loading) return loading;
	loading = new Promise((resolve, reject) => {
		if (![...document.querySelectorAll('link[rel=stylesheet]')].some(l => l.href === CSS))
			document.head.appendChild(Object.assign(document.createElement('link'), {rel: 'stylesheet', href: CSS}));
		let s = [...document.scripts].find(x => x.src === JS);
		if (!s) {
			s = document.createElement('script');
			s.src = JS;
			document.head.appendChild(s);
		}
		s.addEventListener('load', () => (window.uPlot ? resolve(window.uPlot) : reject(new Error('uPlot missing'))));
		s.addEventListener('error', () => { loading = null; reject(new Error('cannot load uPlot')); });
		// A script that finished before we listened: poll the global briefly.
		let n = 0;
		const t = setInterval(() => {
			if (window.uPlot) { clearInterval(t); resolve(window.uPlot); } else if (++n > 150) clearInterval(t);
		}, 100);
	});
	return loading;
}

// Text and grid colours from the theme (canvas cannot use currentColor): readable in dark mode.
function themeColors(el) {
	const text = getComputedStyle(el).color || '#444';
	return {text, grid: 'rgba(128, 128, 128, .22)'};
}

// A uPlot instance that follows its container's width and is rebuilt only when needed.
// makeOpts(uPlot, width, colors) returns the options; setData(data) draws.
function managed(container, height, makeOpts) {
	let plot = null, data = null, ctor = null, destroyed = false;
	const build = () => {
		const width = Math.floor(container.clientWidth);
		if (!ctor || !data || width < 40 || destroyed) return;
		if (plot) plot.destroy();
		plot = new ctor(makeOpts(ctor, width, themeColors(container)), data, container);
	};
	const ro = new ResizeObserver(() => {
		const width = Math.floor(container.clientWidth);
		if (plot && width >= 40 && width !== plot.width) plot.setSize({width, height});
		else if (!plot) build();
	});
	ro.observe(container);
	container.style.minHeight = height + 'px';
	loadUPlot().then(c => { ctor = c; build(); }).catch(() => container.classList.add('jm-chart-missing'));
	return {
		setData(d) {
			data = d;
			if (plot) plot.setData(d); else build();
		},
		destroy() {
			destroyed = true;
			ro.disconnect();
			if (plot) plot.destroy();
			plot = null;
		},
	};
}

// Stacked bars: download at the bottom, upload on top. x is the bucket index; labelAt(i) gives
// the tick text, fmtY(bytes) the axis text, onHover(i | null) follows the cursor.
export function stackedBars(container, {height = 240, labelAt, fmtY, incrs, onHover, names}) {
	const m = managed(container, height, (uPlot, width, c) => ({
		width, height,
		legend: {show: false},
		select: {show: false},
		cursor: {points: {show: false}, drag: {x: false, y: false, setScale: false}, y: false},
		scales: {
			x: {time: false, range: (u, min, max) => [min - 0.5, max + 0.5]},
			y: {range: (u, min, max) => [0, Math.max(max || 0, 1) * 1.08]},
		},
		axes: [
			{stroke: c.text, grid: {show: false}, ticks: {stroke: c.grid}, space: 46,
				incrs: [1, 2, 3, 4, 6, 12, 24, 48],
				values: (u, splits) => splits.map(i => (Number.isInteger(i) ? labelAt(i) : ''))},
			{stroke: c.text, grid: {stroke: c.grid, width: 1}, ticks: {stroke: c.grid}, size: 74,
				incrs: incrs && (() => incrs()), values: (u, splits) => splits.map(v => fmtY(v))},
		],
		series: [{},
			// drawn first: download + upload (its visible part is the upload on top)
			{label: names.up, fill: COLORS.up, stroke: COLORS.up, width: 0, points: {show: false},
				paths: uPlot.paths.bars({size: [0.72, 48], align: 0})},
			{label: names.down, fill: COLORS.down, stroke: COLORS.down, width: 0, points: {show: false},
				paths: uPlot.paths.bars({size: [0.72, 48], align: 0})},
		],
		hooks: {setCursor: [u => onHover && onHover(u.cursor.idx ?? null)]},
	}));
	return {
		// rx, tx: arrays of bytes per bucket.
		set(rx, tx) {
			const x = rx.map((_, i) => i);
			m.setData([x, rx.map((r, i) => r + tx[i]), rx]);
		},
		destroy: m.destroy,
	};
}

// Download/upload rate lines over time (x in seconds).
export function rateLines(container, {height = 240, fmtY, names}) {
	const m = managed(container, height, (uPlot, width, c) => ({
		width, height,
		legend: {show: false},
		select: {show: false},
		cursor: {drag: {x: false, y: false, setScale: false}},
		// x: at least the last minute, so the first few samples do not stretch over the width.
		scales: {x: {time: true, range: (u, min, max) => [Math.min(min, max - 60), max]},
			y: {range: (u, min, max) => [0, Math.max(max || 0, 1) * 1.1]}},
		axes: [
			{stroke: c.text, grid: {stroke: c.grid, width: 1}, ticks: {stroke: c.grid}},
			{stroke: c.text, grid: {stroke: c.grid, width: 1}, ticks: {stroke: c.grid}, size: 84,
				values: (u, splits) => splits.map(v => fmtY(v))},
		],
		series: [{},
			{label: names.down, stroke: COLORS.down, fill: COLORS.down + '22', width: 1.5, points: {show: false}, spanGaps: false},
			{label: names.up, stroke: COLORS.up, width: 1.5, points: {show: false}, spanGaps: false},
		],
	}));
	return {set: (t, rx, tx) => m.setData([t, rx, tx]), destroy: m.destroy};
}
