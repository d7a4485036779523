// Bandwidth charts on the vendored uPlot: stacked download/upload bars for the history views
// and a rate line chart for realtime. uPlot comes from the app's one loader (charts.js).

import {COLORS, loadUPlot} from '../../charts.js';

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
	let empty = true; // no byte in any bucket: the y axis shows only its 0
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
				incrs: incrs && (() => incrs()), values: (u, splits) => axisLabels(splits, fmtY, empty)},
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
			empty = !rx.some((r, i) => r + tx[i] > 0);
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
				values: (u, splits) => axisLabels(splits, fmtY, false)},
		],
		series: [{},
			{label: names.down, stroke: COLORS.down, fill: COLORS.down + '22', width: 1.5, points: {show: false}, spanGaps: false},
			{label: names.up, stroke: COLORS.up, width: 1.5, points: {show: false}, spanGaps: false},
		],
	}));
	return {
		set(t, rx, tx) {
			// Fewer than two samples: uPlot would span its own default range (years, from one
			// point). A leading gap a minute earlier gives the axis its last minute.
			if (t.length === 1) { t = [t[0] - 60, ...t]; rx = [null, ...rx]; tx = [null, ...tx]; }
			m.setData([t, rx, tx]);
		},
		destroy: m.destroy,
	};
}

// Axis labels: each value once (small ranges round several ticks to the same text, "1 B, 1 B"),
// and only the 0 of an empty chart.
export function axisLabels(splits, fmtY, empty) {
	let prev = null;
	return splits.map(v => {
		if (empty && v !== 0) return '';
		const text = fmtY(v);
		if (text === prev) return '';
		prev = text;
		return text;
	});
}
