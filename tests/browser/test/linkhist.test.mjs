// Browser tests of link reliability (issue 19) against the real server, the real collector and
// the simulated router: a real outage is made (wan3's link down for a few seconds, on the ISP
// side), then the WAN Policy cards show a 24 h latency/loss sparkline and uptime, the "Link
// history" dialog shows latency and loss charts per range and the outage in its timeline and
// list, and the Overview's WAN card says when the last outage was and how long it lasted.
// Every figure the page shows is compared with what `wan.history` answers, and the outage with
// what the test did (its start, its length within one ping round at each end, its cause).

import {describe, it, before, after} from 'node:test';
import assert from 'node:assert/strict';
import {env, appUrl, launch, openPage, sh, api, rigRoutesVia, restoreRoutes} from '../lib/harness.mjs';

const WANS = ['wan1', 'wan2', 'wan3'];
const DOWN_S = 4;
// The collector the browser tests run pings every 3 s (ping_interval's default): an outage's
// ends are exact to one round each.
const ROUND_S = 3;

let browser;
let lan3Routes = [];
let downAt = 0;

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
// The outage this test made (not one an earlier test may have left in the history).
const ours = o => o && o.cause === 'link_down' && !o.ongoing && o.start >= downAt - ROUND_S * 1000;
const sparkPoints = b => Math.max(0, ...((b.spark && b.spark.targets) || []).map(t => (t.points || []).length));

// "4 sec", "1 min 30 sec" (fmt.duration in English) → seconds; the first duration in `text`.
function seconds(text) {
	const m = /(?:(\d+) min )?(\d+) sec/.exec(text);
	assert.ok(m, `no duration in ${JSON.stringify(text)}`);
	return Number(m[1] || 0) * 60 + Number(m[2]);
}

// Pixels a canvas has drawn (alpha > 0): 0 for a chart that plotted nothing.
async function inked(locator) {
	return locator.evaluate(c => {
		const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
		let n = 0;
		for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
		return n;
	});
}

before(async () => {
	browser = await launch();
	// Every managed WAN has per-WAN pings in the history before the outage is made.
	await historyWhen(d => d.available && WANS.every(w => sparkPoints(brief(d, w)) > 0), 150, 'per-WAN minutes of every WAN');
	lan3Routes = rigRoutesVia('lan3');
	// A real outage: wan3's link loses its carrier for DOWN_S s (the ISP side goes down).
	downAt = Date.now();
	sh('ip', ['-n', 'jm-isp3', 'link', 'set', 'router', 'down']);
	await new Promise(r => setTimeout(r, DOWN_S * 1000));
	sh('ip', ['-n', 'jm-isp3', 'link', 'set', 'router', 'up']);
	restoreRoutes(lan3Routes);
	// The collector writes it at its next sample.
	await historyWhen(d => ours(brief(d, 'wan3').last_outage), 90, 'the outage of wan3');
});

after(async () => {
	try { sh('ip', ['-n', 'jm-isp3', 'link', 'set', 'router', 'up']); restoreRoutes(lan3Routes); } finally { await browser?.close(); }
});

function clean(p) {
	assert.deepEqual(p.problems, [], 'console errors, page errors or failed requests:\n' + p.problems.join('\n'));
}

describe('Link history', () => {
	it('the outage made is in wan.history: cause, start and length within one round, only on wan3', async () => {
		const d = await api('wan.history');
		const o = brief(d, 'wan3').last_outage;
		assert.ok(Math.abs(o.start - downAt) <= ROUND_S * 1000 + 1000, `start ${o.start} vs link down at ${downAt}`);
		assert.ok(Math.abs(o.duration_s - DOWN_S) <= ROUND_S, `duration ${o.duration_s} s for ${DOWN_S} s down`);
		for (const w of ['wan1', 'wan2']) {
			const lo = brief(d, w).last_outage;
			assert.ok(!lo || lo.end < downAt, `${w} had no outage during wan3's: ${JSON.stringify(lo)}`);
		}
	});

	it('WAN cards: 24 h sparkline, uptime and the last outage', async () => {
		const p = await openPage(browser);
		await p.page.goto(appUrl(env.sid, 'tab=wan-policy'));
		for (const w of WANS) {
			await p.page.locator(`.jm-wan-row[data-wan="${w}"] .jm-wan-uptime`).filter({hasText: /Uptime 24 h: \d/}).waitFor({timeout: 15000});
		}
		const d = await api('wan.history');
		for (const w of WANS) {
			const card = p.page.locator(`.jm-wan-row[data-wan="${w}"]`);
			// The uptime shown is the server's, to its two decimals.
			const pct = brief(d, w).uptime['24h'].pct;
			const up = await card.locator('.jm-wan-uptime').textContent();
			const shown = Number(/Uptime 24 h: ([\d.]+)\s*%/.exec(up)?.[1]);
			assert.ok(Math.abs(shown - pct) <= 0.006, `${w}: ${up} vs ${pct}`);
			// The sparkline plotted something (uPlot's canvas has ink; a chart without data has none).
			const canvas = card.locator('.jm-wan-spark canvas');
			await canvas.waitFor({timeout: 15000});
			assert.ok(await inked(canvas) > 0, `${w}: an empty sparkline ${await canvas.evaluate(c => c.width + 'x' + c.height)} for ${JSON.stringify(brief(d, w).spark)}`);
		}
		assert.ok(brief(d, 'wan3').uptime['24h'].pct < 100, 'the outage counts against uptime');
		const last = await p.page.locator('.jm-wan-row[data-wan="wan3"] .jm-wan-lastout').textContent();
		assert.match(last, /^Last outage: .*ago, for .* \(link down\)$/);
		assert.equal(seconds(last.split(', for ')[1]), brief(d, 'wan3').last_outage.duration_s, last);
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
		const d = await api('wan.history?name=wan3&range=24h');
		const o = d.outages.find(ours);
		assert.ok(o, 'the outage is in the 24 h history: ' + JSON.stringify(d.outages));
		// The legend names the targets measured through this WAN, and the latency chart has ink.
		const legend = await dlg.locator('[data-chart="latency"] .u-legend').textContent();
		assert.deepEqual(d.targets.map(t => t.name).sort(), ['gateway', 'internet']);
		for (const t of d.targets) assert.ok(legend.includes(t.name), `legend ${legend} lacks ${t.name}`);
		assert.ok(await inked(dlg.locator('[data-chart="latency"] canvas').first()) > 0, 'an empty latency chart');
		// The uptime figures are the server's.
		for (const k of ['24h', '7d', '30d']) {
			const text = await dlg.locator(`[data-uptime="${k}"]`).textContent();
			assert.ok(text.startsWith(d.uptime[k].pct.toFixed(2)) || Math.abs(parseFloat(text) - d.uptime[k].pct) <= 0.006, `${k}: ${text} vs ${d.uptime[k].pct}`);
			assert.match(text, new RegExp(`· ${d.uptime[k].outages} outages?$`));
		}
		// The outage is in the list with its cause and length, and in the timeline as a bar at its
		// place on the 24 h axis (it happened a minute or two ago: the right end).
		const item = dlg.locator('.jm-outage[data-cause="link_down"]').last();
		await item.waitFor();
		const itemText = await item.textContent();
		assert.match(itemText, /link down for \d+ sec$/);
		assert.equal(seconds(itemText), o.duration_s);
		const bars = dlg.locator('.jm-timeline .jm-tl-bar.jm-tl-link_down');
		assert.ok(await bars.count() >= 1, 'a bar in the timeline');
		const left = parseFloat(await bars.last().evaluate(e => e.style.left));
		const want = (o.start / 1000 - d.since) / (Date.now() / 1000 - d.since) * 100;
		assert.ok(left > 98 && Math.abs(left - want) < 0.5, `bar at ${left} %, outage at ${want.toFixed(2)} %`);
		// Ranges: 7 days asks the server again and keeps the outage.
		const req = p.page.waitForRequest(r => /wan\.history\?name=wan3&range=7d/.test(r.url()));
		await dlg.locator('button[data-range="7d"]').click();
		await req;
		await p.page.waitForFunction(() => document.querySelector('button[data-range="7d"]')?.getAttribute('aria-pressed') === 'true');
		await p.page.waitForFunction(() => document.querySelector('dialog.jm-hist-dialog [role="status"]')?.hidden === true);
		await dlg.locator('.jm-outage[data-cause="link_down"]').first().waitFor();
		assert.equal(await dlg.locator('button[data-range="24h"]').getAttribute('aria-pressed'), 'false');
		const left7 = parseFloat(await dlg.locator('.jm-timeline .jm-tl-bar.jm-tl-link_down').last().evaluate(e => e.style.left));
		assert.ok(left7 > 99.7, `7 d bar at ${left7} %`);
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
		const text = await lo.textContent();
		const d = await api('wan.history');
		const o = brief(d, 'wan3').last_outage;
		assert.match(text, /^\d+ (sec|min)\. ago, for .* \(link down\)$/);
		assert.equal(seconds(text.split(', for ')[1]), o.duration_s, text);
		const w1 = await p.page.locator('.jm-card[data-wan="wan1"] .jm-wan-lastout').textContent();
		if (!brief(d, 'wan1').last_outage) assert.equal(w1, 'none in 30 days');
		else assert.match(w1, /ago, for /);
		clean(p);
		await p.close();
	});
});
