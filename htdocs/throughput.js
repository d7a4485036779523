// Turns successive `counters` samples ({ts_ms, interfaces: {dev: {rx_bytes, tx_bytes}}})
// into per-interface rates and a short history for the mini graphs. The server only
// sends raw 64-bit counters; rates are ours to derive. A counter that goes down is a
// reset (reboot, ifdown, PPPoE reconnect): that interval yields a gap, never a spike.

const HISTORY_POINTS = 60; // 5 min at one sample per 5 s

export function createThroughput() {
	let prev = null;
	const hist = new Map(); // dev → {t: [], rx: [], tx: []}

	function push(dev, t, rx, tx) {
		let h = hist.get(dev);
		if (!h) hist.set(dev, (h = {t: [], rx: [], tx: []}));
		h.t.push(t); h.rx.push(rx); h.tx.push(tx);
		if (h.t.length > HISTORY_POINTS) { h.t.shift(); h.rx.shift(); h.tx.shift(); }
	}

	const delta = (a, b, dt) => (typeof a === 'number' && typeof b === 'number' && b >= a ? (b - a) / dt : null);

	return {
		// Feeds one sample; returns Map dev → {rx, tx} in bytes/s (null when unknown).
		add(counters) {
			const out = new Map();
			if (!counters || typeof counters.ts_ms !== 'number' || !counters.interfaces) return out;
			const ts = counters.ts_ms;
			if (prev && ts > prev.ts_ms) {
				const dt = (ts - prev.ts_ms) / 1000;
				for (const [dev, c] of Object.entries(counters.interfaces)) {
					const p = prev.interfaces[dev];
					if (!p) continue;
					const r = {rx: delta(p.rx_bytes, c.rx_bytes, dt), tx: delta(p.tx_bytes, c.tx_bytes, dt)};
					out.set(dev, r);
					push(dev, ts / 1000, r.rx, r.tx);
				}
			}
			// A sample older than the previous one (router clock stepped back) just restarts.
			prev = counters;
			return out;
		},
		history: dev => hist.get(dev) || null,
	};
}
