// Browser tests of the Bandwidth tab and the Overview ping block against the real server, the
// simulated router and the collector (tests/browser/run.sh starts it, a sample every 10 s).
// Every page must load without a console error, page error or failed request.

import {describe, it, before, after} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {env, appUrl, launch, openPage, sh, api, SCREENSHOTS, REPO} from '../lib/harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

function clean(p) {
	assert.deepEqual(p.problems, [], 'console errors, page errors or failed requests:\n' + p.problems.join('\n'));
}

// Opens the app; `prefs` preset the Bandwidth tab's stored choices (view, iface, unit).
async function openApp({hash = '', prefs = null, ...opts} = {}) {
	const p = await openPage(browser, opts);
	if (prefs) await p.page.addInitScript(v => localStorage.setItem('jammonitor.bandwidth', v), JSON.stringify(prefs));
	await p.page.goto(appUrl(env.sid, hash));
	return p;
}

// The raw body of an API answer (CSV).
async function apiText(action) {
	const base = env.url.replace(/\/luci-static\/.*$/, '');
	const res = await fetch(base + '/cgi-bin/jammonitor/api/' + action, {headers: {Authorization: 'Bearer ' + env.sid}});
	assert.equal(res.status, 200, action);
	return res.text();
}

async function until(fn, timeoutMs, what) {
	const end = Date.now() + timeoutMs;
	for (;;) {
		const v = await fn();
		if (v) return v;
		if (Date.now() > end) throw new Error('timed out waiting for ' + what);
		await new Promise(r => setTimeout(r, 1000));
	}
}

// Client traffic through the WANs (tests/rig/rig.sh traffic), started if none runs.
function ensureTraffic() {
	let status = '';
	try { status = sh(path.join(REPO, 'tests/rig/rig.sh'), ['status']); } catch (e) { status = String(e.stdout || ''); }
	if (!/traffic: running/.test(status)) sh(path.join(REPO, 'tests/rig/rig.sh'), ['traffic', '--bg', '240']);
}

// What a history answer says per bucket (samples/seconds move with every collector sample).
const bytesOf = d => JSON.stringify([d.buckets.map(b => [b.start, b.rx, b.tx]), d.totals]);
const digits = s => Number(String(s).replace(/[^\d]/g, ''));

describe('Bandwidth tab', () => {
	it('Realtime: the chart and the lan1 row show the generated traffic, polling every 3 s', async () => {
		ensureTraffic();
		const rt = await api('bandwidth?range=realtime');
		const lan1 = rt.interfaces.find(i => i.name === 'lan1');
		assert.ok(lan1 && lan1.wan, 'lan1 is a WAN device in the API answer');
		const p = await openApp({hash: 'tab=bandwidth'});
		const {page} = p;
		const row = page.locator('.jm-bw-rt tr[data-iface="lan1"]');
		await row.waitFor();
		await page.waitForFunction(() => {
			const r = document.querySelector('.jm-bw-rt tr[data-iface="lan1"]');
			return r && Number(r.dataset.rxRate) + Number(r.dataset.txRate) > 0;
		}, null, {timeout: 20000});
		assert.match(await row.innerText(), /\d[\d.,]* (k|M)bit\/s/);
		await page.waitForFunction(() => {
			const g = document.querySelector('.jm-bw-graph');
			return g && g.querySelector('canvas') && Number(g.dataset.points) >= 2 && Number(g.dataset.maxRate) > 0;
		}, null, {timeout: 20000});
		// The total sums exactly the API's `sums`, and says what it left out.
		const scope = await page.locator('.jm-bw-scope').innerText();
		for (const dev of rt.sums) assert.ok(scope.includes(dev), `scope names ${dev}: ${scope}`);
		assert.match(scope, new RegExp(`Not added to the total \\(${rt.excluded.length}\\)`));

		// Only the visible sub-view polls: realtime, about every 3 s.
		const n0 = p.requests.length;
		await page.waitForTimeout(9500);
		const reqs = p.requests.slice(n0).filter(r => r.url.includes('/api/'));
		assert.ok(reqs.every(r => /\/api\/bandwidth\?range=realtime&iface=wans$/.test(r.url)), reqs.map(r => r.url).join('\n'));
		assert.ok(reqs.length >= 2 && reqs.length <= 4, `${reqs.length} realtime requests in 9.5 s`);

		// Per WAN: wan1 alone (its device lan1).
		await page.selectOption('#jm-bw-iface', lan1.wan);
		await page.waitForFunction(dev => document.querySelector('.jm-bw-scope')?.textContent.includes('One interface') &&
			document.querySelector('.jm-bw-scope').textContent.includes(dev), 'lan1');
		await page.waitForFunction(() => Number(document.querySelector('.jm-bw-graph')?.dataset.maxRate) > 0, null, {timeout: 15000});
		assert.equal(await page.locator('.jm-bw-rt tbody tr').count(), 1, 'one interface row');
		clean(p);
		await p.close();
	});

	it('Hourly: the table shows exactly the API\'s hourly buckets and totals', async () => {
		ensureTraffic();
		// The collector must have counted some traffic this hour.
		await until(async () => (await api('bandwidth?range=hourly')).totals.rx > 0, 120000, 'hourly traffic in the API');
		for (let attempt = 1; ; attempt++) {
			const p = await openApp({hash: 'tab=bandwidth', prefs: {view: 'hourly', iface: 'wans', unit: 'B'}});
			const {page} = p;
			const a1 = await api('bandwidth?range=hourly');
			await page.locator('.jm-bw-tbl tbody tr[data-start]').first().waitFor();
			const rows = await page.$$eval('.jm-bw-tbl tbody tr[data-start]', trs => trs.map(tr => ({
				start: Number(tr.dataset.start), rx: Number(tr.dataset.rx), tx: Number(tr.dataset.tx),
				cells: [...tr.cells].map(c => c.textContent)})));
			const foot = await page.$eval('.jm-bw-tbl tfoot tr', tr => ({rx: Number(tr.dataset.rx), tx: Number(tr.dataset.tx), cells: [...tr.cells].map(c => c.textContent)}));
			const scope = await page.locator('.jm-bw-scope').innerText();
			const a2 = await api('bandwidth?range=hourly');
			clean(p);
			await p.close();
			if (bytesOf(a1) !== bytesOf(a2) && attempt < 5) continue; // a sample landed while the page loaded
			assert.equal(bytesOf(a1), bytesOf(a2), 'the API held still during one of 5 attempts');
			assert.equal(rows.length, a2.buckets.length, '24 hourly rows');
			for (const b of a2.buckets) {
				const r = rows.find(x => x.start === b.start);
				assert.ok(r, `a row for ${b.label}`);
				assert.deepEqual([r.rx, r.tx], [b.rx, b.tx], `bytes of ${b.label}`);
				// In bytes (unit B) the shown text is the exact number.
				assert.deepEqual([digits(r.cells[1]), digits(r.cells[2]), digits(r.cells[3])], [b.rx, b.tx, b.rx + b.tx], `text of ${b.label}: ${r.cells}`);
				assert.ok(b.label.endsWith(r.cells[0]), `label ${b.label} shown as ${r.cells[0]}`);
			}
			assert.deepEqual([foot.rx, foot.tx], [a2.totals.rx, a2.totals.tx], 'totals');
			assert.deepEqual([digits(foot.cells[1]), digits(foot.cells[2])], [a2.totals.rx, a2.totals.tx]);
			assert.ok(a2.totals.rx > 0 && rows.some(r => r.rx > 0), 'traffic recorded');
			for (const dev of a2.sums) assert.ok(scope.includes(dev), `scope names ${dev}`);
			// Newest first.
			assert.equal(rows[0].start, a2.buckets[a2.buckets.length - 1].start);
			break;
		}
	});

	it('CSV download: the saved file equals bandwidth.csv from the API, fetched with the Bearer header', async () => {
		for (let attempt = 1; ; attempt++) {
			const p = await openApp({hash: 'tab=bandwidth', prefs: {view: 'hourly', iface: 'wans', unit: 'auto'}});
			const {page} = p;
			const auth = [];
			page.on('request', r => { if (r.url().includes('bandwidth.csv')) auth.push({url: r.url(), h: r.headers().authorization}); });
			await page.locator('.jm-bw-tbl tbody tr[data-start]').first().waitFor();
			const before = await apiText('bandwidth.csv?range=hourly&iface=wans');
			const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-action=csv]')]);
			const content = fs.readFileSync(await download.path(), 'utf8');
			const afterCsv = await apiText('bandwidth.csv?range=hourly&iface=wans');
			assert.equal(download.suggestedFilename(), 'jammonitor-bandwidth-hourly-wans.csv');
			assert.match(download.url(), /^blob:/, 'saved from a Blob, not a URL');
			assert.equal(auth.length, 1);
			assert.equal(auth[0].h, 'Bearer ' + env.sid);
			assert.ok(!auth[0].url.includes(env.sid), 'no sid in the URL');
			clean(p);
			await p.close();
			if (before !== afterCsv && attempt < 5) continue;
			assert.equal(before, afterCsv, 'the API held still during one of 5 attempts');
			assert.equal(content, afterCsv);
			assert.match(content.split('\n')[0], /^range,start,label,interface,wan,rx_bytes,tx_bytes$/);
			break;
		}
	});

	it('Bandwidth fits 375 px (table below the chart) and takes the screenshots', async () => {
		fs.mkdirSync(SCREENSHOTS, {recursive: true});
		for (const [name, width, height] of [['desktop', 1280, 900], ['phone', 375, 812]]) {
			const p = await openApp({hash: 'tab=bandwidth', prefs: {view: 'hourly', iface: 'wans', unit: 'auto'}, width, height});
			const {page} = p;
			await page.locator('.jm-bw-tbl tbody tr[data-start]').first().waitFor();
			await page.locator('.jm-bw-graph canvas').waitFor();
			assert.ok(await page.evaluate(() => document.documentElement.scrollWidth) <= width, `fits ${width} px`);
			const [chart, table] = await Promise.all([page.locator('.jm-bw-chart').boundingBox(), page.locator('.jm-bw-table').boundingBox()]);
			if (width < 600) assert.ok(table.y >= chart.y + chart.height, 'phone: table below the chart');
			else assert.ok(table.x >= chart.x + chart.width, 'desktop: table beside the chart');
			await page.screenshot({path: path.join(SCREENSHOTS, `bandwidth-${name}.png`), fullPage: true});
			clean(p);
			await p.close();
		}
	});
});

describe('Overview pings', () => {
	it('show Internet, VPS and Tunnel RTT and loss from the collector, seeded once from history', async () => {
		const ov = await api('overview');
		assert.ok(ov.pings, 'the collector runs (overview.pings is not null)');
		const names = ov.pings.targets.map(t => t.name);
		for (const n of ['internet', 'vps', 'tunnel']) assert.ok(names.includes(n), `collector pings ${n}: ${names}`);
		const p = await openApp();
		const {page} = p;
		const seen = {};
		for (const n of ['internet', 'vps', 'tunnel']) {
			await page.waitForFunction(t => document.querySelector(`.jm-ping[data-target=${t}] .jm-value`)?.dataset.rtt, n, {timeout: 15000});
			const box = page.locator(`.jm-ping[data-target=${n}]`);
			seen[n] = {text: await box.innerText(), ...(await box.locator('.jm-value').evaluate(e => ({rtt: Number(e.dataset.rtt), loss: Number(e.dataset.loss)})))};
		}
		const ov2 = await api('overview');
		for (const n of ['internet', 'vps', 'tunnel']) {
			const t = ov2.pings.targets.find(x => x.name === n);
			const s = seen[n];
			assert.match(s.text, new RegExp({internet: 'Internet', vps: 'VPS', tunnel: 'Tunnel'}[n]));
			assert.ok(s.text.includes(t.host), `${n} shows its host ${t.host}`);
			assert.match(s.text, /[\d.,]+ ms/, `${n} shows an RTT: ${s.text}`);
			assert.match(s.text, /\d[\d.,]* ?% loss/, `${n} shows its loss: ${s.text}`);
			assert.match(s.text, /last ping (now|\d+ sec\. ago)/, `${n} shows its age: ${s.text}`);
			// The RTT shown is one the collector measured (still in its 10-minute ring).
			assert.ok(t.series.some(x => x[1] === s.rtt), `${n}: ${s.rtt} ms is in the collector's ring`);
			assert.ok([ov.pings.targets.find(x => x.name === n).loss_pct, t.loss_pct].includes(s.loss), `${n} loss ${s.loss}`);
		}
		// The history seed is one request after the page load, never polled.
		await page.waitForTimeout(11000);
		const seeds = p.requests.filter(r => r.url.includes('/api/pings'));
		assert.equal(seeds.length, 1, seeds.map(r => r.url).join('\n'));
		assert.match(seeds[0].url, /\/api\/pings\?minutes=10$/);
		assert.equal(await page.locator('[data-panel=overview] .jm-block', {hasText: 'Pings'}).evaluate(e => e.classList.contains('jm-stale')), false);
		clean(p);
		await p.close();
	});
});
