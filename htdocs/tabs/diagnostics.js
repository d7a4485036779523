// Diagnostics tab. Sections, top to bottom (DESIGN §6, §8):
//   1. Diagnostic bundle (redacted gzip tar)  — tabs/diagnostics/bundle.js.
//   2. USB storage and history                — tabs/diagnostics/storage.js (this release).
//   3. Speed test per WAN                     — LATER ISSUE: not built yet; no control is shown.
// One poll for the whole tab (the storage dashboard, every 10 s); the sections added later
// join the same refresh instead of starting their own timers.

import {h, setText} from '../dom.js';
import {_} from '../i18n.js';
import * as fmt from '../format.js';
import {createStorage, JOB_POLL_MS} from './diagnostics/storage.js';
import {createBundle} from './diagnostics/bundle.js';

export const INTERVAL_MS = 10000;

export function create(ctx) {
	const age = h('span', {class: 'jm-age'});
	const bundle = createBundle(ctx);
	const storage = createStorage(ctx);
	// LATER ISSUE (speed test): its section goes after storage.
	const el = h('div', {class: 'jm-diag', 'data-panel': 'diagnostics'},
		h('div', {class: 'jm-tab-head'}, h('h3', {text: _('Diagnostics')}), age),
		bundle.el, storage.el);

	function tick() {
		const elapsed = storage.tick();
		if (elapsed == null) return;
		setText(age, fmt.age(elapsed));
		el.classList.toggle('jm-stale', elapsed * 1000 > 3 * INTERVAL_MS);
	}

	return {
		el, tick,
		// While a format runs, the app's scheduler polls its progress every second.
		get intervalMs() { return storage.jobActive() ? JOB_POLL_MS : INTERVAL_MS; },
		async refresh(signal) {
			await Promise.all([bundle.refresh(signal), storage.jobActive() ? storage.refreshJob(signal) : storage.refresh(signal)]);
			tick();
		},
		hide: () => { bundle.hide(); storage.hide(); },
		destroy: () => { bundle.destroy(); storage.destroy(); },
	};
}
