// Browser tests of link reliability (issue 19) against the real server, the real collector and
// the simulated router: a real outage is made (wan3's link down for a few seconds, on the ISP
// side), then the WAN Policy cards show a 24 h latency/loss sparkline and uptime, the "Link
// history" dialog shows latency and loss charts per range and the outage in its timeline and
// list, and the Overview's WAN card says when the last outage was and how long it lasted.

import {describe, it, before, after} from 'node:test';
import assert from 'node:assert/strict';
import {env, appUrl, launch, openPage, sh, api, rigRoutesVia, restoreRoutes} from '../lib/harness.mjs';

let browser;
let lan3Routes = [];

// wan.history (brief) until `pred` holds, or fail after `secs`.
async function historyWhen(pred, secs, what) {
	const t0 = Date.now();
	for (;;) {
		const d = await api('wan.history');
		if (pred(d)) return d;
		assert.ok(Date.now() - t0 < secs * 1000, `timed out waiting for ${what}: ${JSON.stringify(d).slice(0, 600)}`);
		await new Promise(r => setTimeout(r, 2000));
	}
}
const brief = (d, name) => (d.wans || []).find(w => w.name === name) || {};

before(async () => {
	browser = await launch();
	lan3Routes = rigRoutesVia('lan3');
	// A real outage: wan3's link loses its carrier for 4 s (the ISP side goes down).
	sh('ip', ['-n', 'jm-isp3', 'link', 'set', 'router', 'down']);
	await new Promise(r => setTimeout(r, 4000));
	sh('ip', ['-n', 'jm-isp3', 'link', 'set', 'router', 'up']);
	restoreRoutes(lan3Routes);
	// The collector writes it at its next sample; the per-WAN minutes appear as minutes end.
	await historyWhen(d => d.available && brief(d, 'wan3').last_outage && !brief(d, 'wan3').ongoing &&
		(brief(d, 'wan1').spark?.targets || []).some(t => t.points.length > 0), 150, 'an outage of wan3 and per-WAN minutes');
});

after(async () => {
	try { sh('ip', ['-n', 'jm-isp3', 'link', 'set', 'router', 'up']); restoreRoutes(lan3Routes); } finally { await browser?.close(); }
});

function clean(p) {
	assert.deepEqual(p.problems, [], 'console errors, page errors or failed requests:\n' + p.problems.join('\n'));
}

describe('Link history', () => {
	it('WAN cards: 24 h sparkline, uptime and the last outage', async () => {
		const p = await openPage(browser);
		await p.page.goto(appUrl(env.sid, 'tab=wan-policy'));
		const card = p.page.locator('.jm-wan-row[data-wan="wan3"]');
		await card.locator('.jm-wan-uptime').filter({hasText: /Uptime 24 h: \d/}).waitFor({timeout: 15000});
		// The sparkline is drawn (uPlot's canvas inside the card).
		await p.page.locator('.jm-wan-row[data-wan="wan1"] .jm-wan-spark canvas').waitFor({timeout: 15000});
		const d = await api('wan.history');
		const pct = brief(d, 'wan3').uptime['24h'].pct;
		const up = await card.locator('.jm-wan-uptime').textContent();
		assert.ok(up.includes(String(Math.floor(pct))), `uptime ${up} vs ${pct}`);
		assert.ok(pct < 100, 'the outage counts against uptime');
		const last = await card.locator('.jm-wan-lastout').textContent();
		assert.match(last, /Last outage: .*ago, for .*link down/);
		const w1 = await p.page.locator('.jm-wan-row[data-wan="wan1"] .jm-wan-lastout').textContent();
		if (!brief(d, 'wan1').last_outage) assert.equal(w1, 'No outage in 30 days');
		else assert.match(w1, /^Last outage: /);
		clean(p);
		await p.close();
	});

	it('Link history view: latency and loss charts per range, the outage timeline', async () => {
		const p = await openPage(browser);
		await p.page.goto(appUrl(env.sid, 'tab=wan-policy'));
		await p.page.locator('.jm-wan-row[data-wan="wan3"] .jm-wan-histbtn').click();
		const dlg = p.page.locator('dialog.jm-hist-dialog');
		await dlg.waitFor();
		await dlg.locator('[data-chart="latency"] canvas').waitFor({timeout: 15000});
		await dlg.locator('[data-chart="loss"] canvas').waitFor();
		// The outage is in the list with its cause and in the timeline as a bar.
		const item = dlg.locator('.jm-outage[data-cause="link_down"]');
		await item.first().waitFor();
		assert.match(await item.first().textContent(), /link down.*for \d+ s/);
		assert.ok(await dlg.locator('.jm-timeline .jm-tl-bar.jm-tl-link_down').count() >= 1, 'a bar in the timeline');
		// The legend names the targets measured through this WAN.
		const legend = await dlg.locator('[data-chart="latency"] .u-legend').textContent();
		assert.match(legend, /gateway/);
		assert.match(legend, /internet/);
		// Ranges: 7 days asks the server again and keeps the outage.
		const req = p.page.waitForRequest(r => /wan\.history\?name=wan3&range=7d/.test(r.url()));
		await dlg.locator('button[data-range="7d"]').click();
		await req;
		await p.page.waitForFunction(() => document.querySelector('button[data-range="7d"]')?.getAttribute('aria-pressed') === 'true');
		await dlg.locator('.jm-outage[data-cause="link_down"]').first().waitFor();
		assert.notEqual(await dlg.locator('[data-uptime="7d"]').textContent(), '—');
		// Escape closes it.
		await p.page.keyboard.press('Escape');
		await dlg.waitFor({state: 'detached'});
		clean(p);
		await p.close();
	});

	it('Overview WAN cards: last outage, how long ago and for how long', async () => {
		const p = await openPage(browser);
		await p.page.goto(appUrl(env.sid, 'tab=overview'));
		const lo = p.page.locator('.jm-card[data-wan="wan3"] .jm-wan-lastout');
		await lo.waitFor({timeout: 15000});
		assert.match(await lo.textContent(), /ago, for \d+ s \(link down\)|ago, for \d+ min \d+ s \(link down\)/);
		const w1 = await p.page.locator('.jm-card[data-wan="wan1"] .jm-wan-lastout').textContent();
		if (!brief(await api('wan.history'), 'wan1').last_outage) assert.equal(w1, 'none in 30 days');
		clean(p);
		await p.close();
	});
});
