// The one scheduler of the app. Only the visible tab has a task; every CGI request costs
// the router a process (and uhttpd runs at most 3 scripts at once, LuCI's included), so:
//  - one task at a time, never two requests of it in flight (next run is scheduled only
//    after the previous one settled);
//  - nothing runs while the browser tab is hidden (visibilitychange);
//  - errors back off exponentially (interval × 2^n, capped), success resets the pace;
//  - a 1 s UI tick (no requests) lets views age their timestamps and grey stale values.

const MAX_BACKOFF_MS = 60000;
const TICK_MS = 1000;

export function createPoller({onTick} = {}) {
	let task = null;        // {run(signal) → Promise, intervalMs, onError?(err)}
	let gen = 0;            // bumps on every task change; late results of old tasks are ignored
	let timer = null;
	let tickTimer = null;
	let inflight = null;    // AbortController of the running request
	let failures = 0;
	let lastStart = 0;
	let lastSuccess = 0;    // performance.now() of the last successful run

	const hidden = () => document.visibilityState === 'hidden';

	function clearTimer() {
		if (timer) clearTimeout(timer);
		timer = null;
	}

	function schedule(delay) {
		clearTimer();
		if (!task || hidden()) return;
		const g = gen;
		timer = setTimeout(() => { timer = null; if (g === gen) run(); }, Math.max(0, delay));
	}

	async function run() {
		if (!task || hidden() || inflight) return;
		const g = gen, t = task;
		const ctl = new AbortController();
		inflight = ctl;
		lastStart = performance.now();
		try {
			await t.run(ctl.signal);
			if (g !== gen) return;
			failures = 0;
			lastSuccess = performance.now();
		} catch (err) {
			if (g !== gen || ctl.signal.aborted) return;
			failures++;
			if (t.onError && t.onError(err) === false) { stopTask(); return; } // fatal (e.g. auth)
		} finally {
			if (inflight === ctl) inflight = null;
		}
		if (g !== gen) return;
		const base = t.intervalMs;
		const delay = failures ? Math.min(base * 2 ** failures, MAX_BACKOFF_MS) : base;
		// Keep the cadence: the request's own duration counts toward the interval.
		schedule(delay - (performance.now() - lastStart));
	}

	function abortInflight() {
		if (inflight) { inflight.abort(); inflight = null; }
	}

	function stopTask() {
		gen++;
		clearTimer();
		abortInflight();
		task = null;
	}

	function onVisibility() {
		if (hidden()) {
			clearTimer();
			abortInflight();
			stopTick();
		} else {
			startTick();
			if (!task) return;
			// Run now if a poll is due, otherwise wait for the rest of the interval.
			const due = lastStart + task.intervalMs - performance.now();
			schedule(failures ? 0 : due);
		}
	}

	function startTick() {
		if (!tickTimer && onTick && !hidden()) tickTimer = setInterval(() => onTick(), TICK_MS);
	}
	function stopTick() {
		if (tickTimer) clearInterval(tickTimer);
		tickTimer = null;
	}

	document.addEventListener('visibilitychange', onVisibility);
	startTick();

	return {
		// Replaces the current task (or stops polling with null) and runs it at once.
		set(newTask) {
			stopTask();
			failures = 0;
			lastSuccess = 0;
			lastStart = 0;
			task = newTask;
			if (task) schedule(0);
		},
		// Runs the current task now (e.g. after a write), unless one is in flight.
		refresh() {
			if (task && !inflight) schedule(0);
		},
		// ms since the last success, or Infinity when nothing succeeded yet.
		sinceSuccess: () => (lastSuccess ? performance.now() - lastSuccess : Infinity),
		destroy() {
			stopTask();
			stopTick();
			document.removeEventListener('visibilitychange', onVisibility);
		},
	};
}
