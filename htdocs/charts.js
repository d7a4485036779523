// Thin wrapper around the vendored uPlot (vendor/uplot, MIT). uPlot ships its minified
// build as a classic script defining the global `uPlot`, so it is loaded once with a
// <script> element on first use; no CDN, routers are often offline.

let loading = null;

// The one uPlot loader of the app (every chart module imports it): the stylesheet and the
// script are added once, whoever asks first.
export function loadUPlot() {
	if (window.uPlot) return Promise.resolve(window.uPlot);
	if (loading) return loading;
	loading = new Promise((resolve, reject) => {
		const css = new URL('./vendor/uplot/uPlot.min.css', import.meta.url).href;
		if (![...document.querySelectorAll('link[rel=stylesheet]')].some(l => l.href === css))
			document.head.appendChild(Object.assign(document.createElement('link'), {rel: 'stylesheet', href: css}));
		const s = document.createElement('script');
		s.src = new URL('./vendor/uplot/uPlot.iife.min.js', import.meta.url).href;
		s.onload = () => (window.uPlot ? resolve(window.uPlot) : reject(new Error('uPlot missing')));
		s.onerror = () => { loading = null; s.remove(); reject(new Error('cannot load uPlot')); };
		document.head.appendChild(s);
	});
	return loading;
}

// Colours work on light and dark backgrounds alike (canvas cannot use currentColor).
export const COLORS = {down: '#2f9e63', up: '#e07b24', line: '#3b82d6'};

// Lines only, except a series with a single bucket in view: a line needs two points, so the first
// bucket of a new history (a WAN's first 10 minutes in its card's sparkline) shows as a dot.
const lonePoint = (u, si, i0, i1) => i1 - i0 < 1;

// A small axis-less line chart. series: [{label, stroke}]. Returns {setData(x, ...ys), destroy()}.
// x is in seconds; values may contain null (a gap: a counter reset or a missed poll).
export function sparkline(container, {series, height = 44, windowSec = 300}) {
	let plot = null, data = null, destroyed = false, uPlotCtor = null;

	const build = () => {
		const width = Math.floor(container.clientWidth);
		if (!uPlotCtor || !data || width < 20 || destroyed) return;
		plot = new uPlotCtor({
			width, height,
			pxAlign: false,
			cursor: {show: false},
			legend: {show: false},
			select: {show: false},
			scales: {
				// x: at most a trailing window of windowSec, so a long history scrolls instead of squeezing.
				// From the data itself: uPlot widens a single value to [0, 2x] before asking, which put a
				// lone point far off the plot.
				x: {time: false, range: u => {
					const xs = u.data[0] || [], lo = xs[0], hi = xs[xs.length - 1];
					if (typeof lo !== 'number') return [0, 1];
					return hi > lo ? [Math.max(lo, hi - windowSec), hi] : [lo - 1, lo + 1];
				}},
				// y: from zero, so an idle link reads as a flat line at the bottom, not as noise.
				y: {range: (u, min, max) => [0, Math.max(max || 0, 1) * 1.1]},
			},
			axes: [{show: false}, {show: false}],
			series: [{}, ...series.map(s => ({label: s.label, stroke: s.stroke, width: 1.5, points: {show: lonePoint, fill: s.stroke}, spanGaps: false}))],
		}, data, container);
	};

	const ro = new ResizeObserver(() => {
		const width = Math.floor(container.clientWidth);
		if (plot && width >= 20) plot.setSize({width, height});
		else if (!plot) build();
	});
	ro.observe(container);
	container.style.minHeight = height + 'px';

	loadUPlot().then(ctor => { uPlotCtor = ctor; if (!plot) build(); }).catch(() => {
		container.classList.add('jm-chart-missing'); // numbers still show; the chart is a bonus
	});

	return {
		setData(x, ...ys) {
			data = [x, ...ys];
			if (plot) plot.setData(data);
			else build();
		},
		destroy() {
			destroyed = true;
			ro.disconnect();
			if (plot) plot.destroy();
			plot = null;
		},
	};
}

// A chart with time and value axes for history views (the same one loader as above).
// series: [{label, stroke}]; x in seconds (epoch); `unit` labels the y axis; `range` fixes the x
// window [from, to] so empty periods show as empty; `points` marks every value and joins them
// across nulls (sparse measurements such as speed tests). Returns {setData(x, ...ys), destroy()}.
export function timeChart(container, {series, height = 160, unit = '', range = null, points = false}) {
	let plot = null, data = null, destroyed = false, uPlotCtor = null;
	const build = () => {
		const width = Math.floor(container.clientWidth);
		if (!uPlotCtor || !data || width < 40 || destroyed) return;
		plot = new uPlotCtor({
			width, height,
			cursor: {drag: {x: false, y: false}},
			legend: {show: true, live: false},
			select: {show: false},
			scales: {
				// From the data itself: uPlot widens a lone x value to [0, 2x] before asking, which
				// spread one point over decades; a lone point gets an hour either side.
				x: {time: true, range: range ? () => range : u => {
					const xs = u.data[0] || [];
					const a = xs[0], b = xs[xs.length - 1];
					return a == null ? [0, 1] : b > a ? [a, b] : [a - 3600, a + 3600];
				}},
				y: {range: (u, min, max) => [0, Math.max(max || 0, 1) * 1.1]},
			},
			axes: [{stroke: 'currentColor', grid: {show: false}}, {stroke: 'currentColor', label: unit, size: 50}],
			series: [{}, ...series.map(s => ({label: s.label, stroke: s.stroke, width: 1.5, points: {show: points || lonePoint, fill: s.stroke}, spanGaps: points}))],
		}, data, container);
	};
	const ro = new ResizeObserver(() => {
		const width = Math.floor(container.clientWidth);
		if (plot && width >= 40) plot.setSize({width, height});
		else if (!plot) build();
	});
	ro.observe(container);
	container.style.minHeight = height + 'px';
	loadUPlot().then(ctor => { uPlotCtor = ctor; if (!plot) build(); }).catch(() => container.classList.add('jm-chart-missing'));
	return {
		setData(x, ...ys) { data = [x, ...ys]; if (plot) plot.setData(data); else build(); },
		destroy() { destroyed = true; ro.disconnect(); if (plot) plot.destroy(); plot = null; },
	};
}
