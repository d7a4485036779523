// Browser test of Diagnostics → speed test against the real server and the simulated router
// (issue 16): the page starts a test through one WAN (the rig's servers and link speeds:
// tests/rig, /etc/config/jammonitor of the live root), shows its live progress (bytes, current
// and average Mbit/s), then the result in the history table and the WAN's chart; a server
// without upload (CacheFly) disables the upload buttons; a read-only session cannot start one.

import {describe, it, before, after} from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {env, appUrl, launch, openPage, api, SCREENSHOTS} from '../lib/harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

function clean(p) {
	assert.deepEqual(p.problems, [], 'console errors, page errors or failed requests:\n' + p.problems.join('\n'));
}

describe('Diagnostics: speed test', () => {
	it('runs a test through one WAN with live progress, then shows it in the history', async () => {
		const p = await openPage(browser);
		const {page} = p;
		await page.goto(appUrl(env.sid, 'tab=diagnostics'));
		const st = page.locator('.jm-speedtest');
		await st.locator('tr[data-wan="wan3"] [data-action="st-download"]').waitFor();
		const before = (await api('speedtest')).history.length;

		// CacheFly offers no upload and no 25 MB: the page says so before the router has to.
		await st.locator('#jm-st-server').selectOption('cachefly');
		const up = st.locator('tr[data-wan="wan3"] [data-action="st-upload"]');
		assert.equal(await up.isDisabled(), true);
		assert.match(await up.getAttribute('title'), /CacheFly/);
		const sizes = await st.locator('#jm-st-size option').evaluateAll(o => o.map(x => x.value));
		assert.ok(!sizes.includes('25'), `CacheFly sizes: ${sizes}`);

		// 10 MB down through wan3 (20 Mbit/s in the rig: about four seconds).
		await st.locator('#jm-st-server').selectOption('cloudflare');
		await st.locator('#jm-st-size').selectOption('10');
		const started = page.waitForResponse(r => r.url().includes('/api/speedtest.start'));
		await st.locator('tr[data-wan="wan3"] [data-action="st-download"]').click();
		const res = await started;
		assert.equal(res.status(), 202);
		const id = (await res.json()).data.job.id;

		// Live progress: bytes so far and a current rate, while it runs.
		const prog = st.locator(`.jm-st-progress[data-job="${id}"]`);
		await prog.locator('[data-stat="now"] strong').filter({hasText: /bit\/s/}).waitFor({timeout: 20000});
		assert.equal(await prog.getAttribute('data-state'), 'running');
		assert.match(await prog.locator('.jm-job-msg').innerText(), /MiB|KiB/);
		const bar = await prog.locator('progress').evaluate(b => b.value);
		assert.ok(bar > 0 && bar < 100, `progress bar at ${bar}`);
		await st.screenshot({path: path.join(SCREENSHOTS, 'diagnostics-speedtest.png')});

		// The result, then the same row in the history and a chart for the WAN.
		await st.locator(`.jm-st-progress[data-job="${id}"][data-state="done"]`).waitFor({timeout: 60000});
		const d = await api('speedtest');
		assert.equal(d.history.length, before + 1);
		const r = d.history[0];
		assert.equal(r.wan, 'wan3');
		assert.equal(r.direction, 'download');
		assert.equal(r.server, 'cloudflare');
		assert.equal(r.size_mb, 10);
		assert.ok(r.mbps > 5 && r.mbps < 25, `wan3 measured ${r.mbps} Mbit/s`);
		const row = st.locator(`.jm-st-table tr[data-id="${r.id}"]`);
		await row.waitFor();
		assert.equal(await row.locator('.jm-st-mbps').getAttribute('data-mbps'), String(r.mbps));
		const shown = (await row.locator('.jm-st-mbps').innerText()).trim();
		const want = await page.evaluate(async v => (await import('./format.js')).rate(v * 1e6 / 8), r.mbps);
		assert.equal(shown, want);
		await st.locator('.jm-st-chart[data-wan="wan3"] canvas').first().waitFor();
		// The WAN's row shows its latest download.
		assert.equal((await st.locator('tr[data-wan="wan3"] td.jm-num').first().innerText()).trim(), want);
		clean(p);
		await p.close();
	});

	it('a read-only session sees the history but cannot start a test', async () => {
		const p = await openPage(browser);
		await p.page.goto(appUrl(env.sidRo, 'tab=diagnostics'));
		const btn = p.page.locator('.jm-speedtest tr[data-wan="wan1"] [data-action="st-download"]');
		await btn.waitFor();
		await p.page.waitForFunction(() => document.querySelector('.jm-speedtest [data-action="st-download"]')?.disabled === true);
		assert.equal(await btn.isDisabled(), true);
		clean(p);
		await p.close();
	});
});
