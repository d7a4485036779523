// Diagnostics tab. Sections, top to bottom (DESIGN §6, §8):
//   1. Diagnostic bundle (redacted gzip tar)  — tabs/diagnostics/bundle.js.
//   2. USB storage and history                — tabs/diagnostics/storage.js (this release).
//   3. Speed test per WAN                     — tabs/diagnostics/speedtest.js.
// One poll for the whole tab (every 10 s; every second while a bundle, a format or a speed test
// runs, when only the running job is asked between the full refreshes): no section starts a timer
// of its own.

import {h, setText} from '../dom.js';
import {_} from '../i18n.js';
import * as fmt from '../format.js';
import {createStorage, JOB_POLL_MS} from './diagnostics/storage.js';
import {createBundle} from './diagnostics/bundle.js';
import {createSpeedtest} from './diagnostics/speedtest.js';

export const INTERVAL_MS = 10000;

export function create(ctx) {
	const age = h('span', {class: 'jm-age'});
	const bundle = createBundle(ctx);
	const storage = createStorage(ctx);
	const speedtest = createSpeedtest(ctx);
	const el = h('div', {class: 'jm-diag', 'data-panel': 'diagnostics'},
		h('div', {class: 'jm-tab-head'}, h('h3', {text: _('Diagnostics')}), age),
		bundle.el, storage.el, speedtest.el);
	let fullAt = 0;   // performance.now() of the last full refresh
	const jobs = [bundle, speedtest];   // sections whose running job is asked alone between refreshes

	function tick() {
		const elapsed = storage.tick();
		if (elapsed == null) return;
		setText(age, fmt.age(elapsed));
		el.classList.toggle('jm-stale', elapsed * 1000 > 3 * INTERVAL_MS);
	}

	return {
		el, tick,
		// While a job runs, the app's scheduler polls its progress every second.
		get intervalMs() { return jobs.some(j => j.jobActive()) || storage.jobActive() ? JOB_POLL_MS : INTERVAL_MS; },
		async refresh(signal) {
			// A running bundle or speed test (not a format): ask only the running jobs, the rest at
			// the usual pace.
			const active = jobs.filter(j => j.jobActive());
			if (active.length && !storage.jobActive() && performance.now() - fullAt < INTERVAL_MS) {
				await Promise.all(active.map(j => j.refreshJob(signal)));
				return;
			}
			fullAt = performance.now();
			await Promise.all([storage.jobActive() ? storage.refreshJob(signal) : storage.refresh(signal),
				...jobs.map(j => (j.jobActive() ? j.refreshJob(signal) : j.refresh(signal)))]);
			tick();
		},
		hide: () => { bundle.hide(); storage.hide(); speedtest.hide(); },
		destroy: () => { bundle.destroy(); storage.destroy(); speedtest.destroy(); },
	};
}
