// Browser tests of the JamMonitor frontend against the real server (tests/rig/serve.sh:
// uhttpd + rpcd + the CGI + the simulated router). Each page must load without a console error,
// page error or failed request unless the test expects one.

import {describe, it, before, after} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
	env, appUrl, launch, openPage, sh, rigAddrs, rigStats, api, parseBytes,
	rigRoutesVia, restoreRoutes, SCREENSHOTS, REPO,
} from '../lib/harness.mjs';

const POLL_MS = 5000;
let browser;

before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

function clean(p) {
	assert.deepEqual(p.problems, [], 'console errors, page errors or failed requests:\n' + p.problems.join('\n'));
}

async function openApp(opts = {}, sid = env.sid, hash = '') {
	const p = await openPage(browser, opts);
	await p.page.goto(appUrl(sid, hash));
	return p;
}

describe('JamMonitor frontend', () => {
	it('Overview shows the rig: WAN addresses and labels, tunnel, RAM, health', async () => {
		const p = await openApp();
		const {page} = p;
		const addrs = rigAddrs();
		const ov = await api('overview');
		assert.ok(ov.wans.length >= 1, 'the API reports WANs');
		await page.locator('.jm-card[data-wan]').first().waitFor();

		for (const w of ov.wans) {
			const card = page.locator(`.jm-card[data-wan="${w.name}"]`);
			await card.waitFor();
			const text = await card.innerText();
			assert.ok(text.includes(w.label || w.name), `WAN ${w.name} shows its label "${w.label || w.name}"`);
			const rig = addrs[w.device] || [];
			for (const a of rig) {
				assert.ok(text.includes(`${a.address}/${a.prefix}`), `WAN ${w.name} (${w.device}) shows ${a.address}/${a.prefix} from ip addr; card: ${text}`);
			}
		}
		const tun = addrs.tun0?.[0]?.address;
		assert.ok(tun, 'the rig has a tunnel address');
		const overview = page.locator('[data-panel=overview]');
		assert.match(await overview.innerText(), new RegExp('Tunnel address\\s+' + tun.replace(/\./g, '\\.')));

		// RAM: the page shows the real total, formatted by the page's own formatter.
		const memKb = Number(/MemTotal:\s+(\d+)/.exec(fs.readFileSync('/proc/meminfo', 'utf8'))[1]);
		const totalText = await page.evaluate(async kb => (await import('./format.js')).bytes(kb * 1024), memKb);
		const health = await overview.locator('.jm-block', {hasText: 'System health'}).innerText();
		assert.match(health, /RAM used\s+[\d.,]+ (KiB|MiB|GiB) of /);
		assert.ok(health.includes('of ' + totalText), `RAM total ${totalText} shown: ${health}`);
		assert.match(health, /CPU\s+[\d.,]+ ?%/);
		assert.match(health, /Connections tracked\s+[\d,]+ \/ [\d,]+/);

		// Ping block: explicit note while the collector does not run, else data.
		const pings = await overview.locator('.jm-block', {hasText: 'Pings'}).innerText();
		if (ov.pings === null) assert.match(pings, /Ping history needs the collector, which is not running/);
		clean(p);
		await p.close();
	});

	it('WireGuard peers show in the tunnel card: key, endpoint, handshake, transfer; hostile names stay text; 375 px', async () => {
		// The rig's kernel has no WireGuard (no real device can exist here): the real answer gets
		// a `tunnel.wireguard` section shaped as docs/api.md documents (tests/wireguard.rs checks
		// the server side against the kernel's dump format).
		const p = await openApp({width: 375, height: 812});
		const {page} = p;
		const key = 'oaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaE=';
		await page.route('**/api/overview', async route => {
			const res = await route.fetch();
			const j = await res.json();
			j.data.tunnel.wireguard = [
				{interface: 'wgwan1', device: 'wgwan1', status: 'ok', public_key: key, listen_port: 51820,
					peers: [{public_key: key, endpoint: '203.0.113.7:51820', latest_handshake: Math.floor(Date.now() / 1000) - 75,
						latest_handshake_age_s: 75, rx_bytes: 5 * 1024 * 1024, tx_bytes: 2048, persistent_keepalive_s: 25},
					{public_key: key.replace('E=', 'Q='), endpoint: null, latest_handshake: null, latest_handshake_age_s: null,
						rx_bytes: 0, tx_bytes: 0, persistent_keepalive_s: null}]},
				{interface: '<b>wg2</b>', device: 'wg2', status: 'no_wireguard', public_key: null, listen_port: null, peers: []},
			];
			await route.fulfill({response: res, json: j});
		});
		const card = page.locator('[data-panel=overview] .jm-block', {hasText: 'VPN / Tunnel'});
		await card.locator('.jm-wg[data-wg=wgwan1]').waitFor();
		const text = await card.innerText();
		assert.match(text, /WireGuard: wgwan1/);
		assert.ok(text.includes(key), 'the peer public key is shown whole');
		assert.match(text, /Endpoint\s+203\.0\.113\.7:51820/);
		assert.match(text, /Latest handshake\s+(1 min\. ago|75 sec\. ago)/);
		assert.match(text, /Transfer\s+5(\.00)? MiB received, 2(\.00)? KiB sent/);
		assert.match(text, /Latest handshake\s+Never/);
		assert.match(text, /WireGuard: <b>wg2<\/b>/, 'a hostile interface name is text');
		assert.equal(await card.locator('b').count(), 0);
		assert.match(text, /The kernel has no WireGuard support\./);
		assert.ok(await page.evaluate(() => document.documentElement.scrollWidth) <= 375, 'the 44-character keys fit 375 px');
		clean(p);
		await p.close();
	});

	it('Interfaces tab shows lan1 with its address and plausible rx/tx counters', async () => {
		// Read before the page loads: its first fetch may already be done when openApp returns.
		const before = rigStats('lan1');
		const p = await openApp({}, env.sid, 'tab=interfaces');
		const {page} = p;
		const card = page.locator('.jm-card[data-if="lan1"]');
		await card.waitFor();
		const after = rigStats('lan1');
		const text = await card.innerText();
		const a = rigAddrs().lan1[0];
		assert.ok(text.includes(`${a.address}/${a.prefix}`), 'lan1 address shown: ' + text);
		const rx = parseBytes(/Received\s+(.*)/.exec(text)[1]);
		const tx = parseBytes(/Sent\s+(.*)/.exec(text)[1]);
		// Formatting rounds to 3-4 significant digits; the page read the counters between our two reads.
		assert.ok(rx >= before.rx * 0.99 - 1024 && rx <= after.rx * 1.01 + 1024, `rx ${rx} within [${before.rx}, ${after.rx}]`);
		assert.ok(tx >= before.tx * 0.99 - 1024 && tx <= after.tx * 1.01 + 1024, `tx ${tx} within [${before.tx}, ${after.tx}]`);
		assert.match(text, /packets/);
		// Routing table with a working filter.
		const rows = page.locator('.jm-routes tbody tr');
		await assert.doesNotReject(rows.first().waitFor());
		const total = await rows.count();
		await page.locator('.jm-filter').fill('lan1');
		const filtered = await rows.allInnerTexts();
		assert.ok(filtered.length >= 1 && filtered.length <= total, 'filter keeps some rows');
		assert.ok(filtered.every(r => r.includes('lan1')), 'every filtered row mentions lan1');
		clean(p);
		await p.close();
	});

	it('a WAN link taken down shows Down within a couple of polls, then Up again', async () => {
		const p = await openApp();
		const {page} = p;
		const card = page.locator('.jm-card[data-wan]').filter({hasText: 'lan2'});
		await card.locator('.jm-badge', {hasText: /^Up$/}).waitFor();
		const routes = rigRoutesVia('lan2');
		try {
			sh('ip', ['-n', 'jm-router', 'link', 'set', 'lan2', 'down']);
			await card.locator('.jm-badge', {hasText: /^Down$/}).waitFor({timeout: 2.5 * POLL_MS});
		} finally {
			sh('ip', ['-n', 'jm-router', 'link', 'set', 'lan2', 'up']);
			restoreRoutes(routes);
		}
		await card.locator('.jm-badge', {hasText: /^Up$/}).waitFor({timeout: 2.5 * POLL_MS});
		clean(p);
		await p.close();
	});

	it('tabs switch, the hash keeps the tab, and the sid leaves the address bar', async () => {
		const p = await openApp();
		const {page} = p;
		await page.locator('[data-panel=overview] .jm-card').first().waitFor();
		assert.ok(!page.url().includes('sid='), 'sid stripped from the URL: ' + page.url());
		await page.click('.jm-tab[data-tab=interfaces]');
		await page.waitForFunction(() => location.hash === '#tab=interfaces');
		await page.locator('.jm-card[data-if]').first().waitFor();
		assert.equal(await page.locator('[data-panel=overview]').isVisible(), false);
		await page.click('.jm-tab[data-tab=clients]');
		await page.waitForFunction(() => location.hash === '#tab=clients');
		// The Clients tab lists the rig's LAN clients (c1..c3 hold leases).
		await page.locator('.jm-clients-table tr.jm-client').first().waitFor();
		assert.equal(await page.locator('[data-panel=interfaces]').isVisible(), false);
		// Reload keeps the tab; the sid now comes from sessionStorage.
		const answered = page.waitForResponse(r => r.url().includes('/api/interfaces'));
		await page.goto(page.url().replace(/#.*$/, '') + '#tab=interfaces');
		await (await answered).finished(); // reload only once its request settled (no abort)
		await page.reload();
		await page.locator('.jm-card[data-if]').first().waitFor();
		assert.equal(await page.locator('.jm-tab.jm-active').getAttribute('data-tab'), 'interfaces');
		clean(p);
		await p.close();
	});

	it('nothing overflows horizontally at 375 px', async () => {
		const p = await openApp({width: 375, height: 812});
		const {page} = p;
		await page.locator('[data-panel=overview] .jm-card').first().waitFor();
		await page.waitForTimeout(POLL_MS + 1000); // rates and mini graphs appear after the second poll
		assert.ok(await page.evaluate(() => document.documentElement.scrollWidth) <= 375, 'overview fits 375 px');
		await page.click('.jm-tab[data-tab=interfaces]');
		await page.locator('.jm-card[data-if]').first().waitFor();
		assert.ok(await page.evaluate(() => document.documentElement.scrollWidth) <= 375, 'interfaces fits 375 px');
		clean(p);
		await p.close();
	});

	it('a read-only session still renders the dashboard', async () => {
		const p = await openApp({}, env.sidRo);
		const {page} = p;
		await page.locator('[data-panel=overview] .jm-card[data-wan]').first().waitFor();
		assert.equal(await page.locator('.jm-banner').isVisible(), false);
		clean(p);
		await p.close();
	});

	it('a bogus session shows the permission message', async () => {
		const bogus = [...crypto.getRandomValues(new Uint8Array(16))].map(b => b.toString(16).padStart(2, '0')).join('');
		const p = await openApp({allowConsole: [/status of 403/], allowStatus: [403]}, bogus);
		const {page} = p;
		const banner = page.locator('.jm-banner');
		await banner.waitFor();
		// errors.js: our sentence for auth_denied, then the server's own text as the detail
		assert.ok((await banner.innerText()).trim().startsWith(
			'This session has no JamMonitor permission. Log out of LuCI and log in again: sessions opened before JamMonitor was installed lack it.'));
		// Polling stops on a permission error instead of hammering the router.
		const n = p.requests.filter(r => r.url.includes('/api/')).length;
		await page.waitForTimeout(2 * POLL_MS);
		assert.equal(p.requests.filter(r => r.url.includes('/api/')).length, n, 'no retry after auth_denied');
		clean(p);
		await p.close();
	});

	it('text from the network is never parsed as HTML', async () => {
		const p = await openApp();
		const {page} = p;
		await page.locator('[data-panel=overview] .jm-card').first().waitFor();
		const hostile = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';
		const r = await page.evaluate(async s => {
			const {h} = await import('./dom.js');
			const el = h('span', {class: 'jm-test', text: s});
			document.body.appendChild(el);
			const row = (await import('./ui.js')).row('label', s)[1];
			document.body.appendChild(row);
			await new Promise(res => setTimeout(res, 300));
			return {text: el.textContent, children: el.children.length, rowChildren: row.children.length, rowText: row.textContent, pwned: window.__pwned ?? null};
		}, hostile);
		assert.deepEqual(r, {text: hostile, children: 0, rowChildren: 0, rowText: hostile, pwned: null});
		// And the app's own code never writes markup: no innerHTML/insertAdjacentHTML/outerHTML in htdocs.
		const dir = path.join(REPO, 'htdocs');
		for (const f of fs.readdirSync(dir, {recursive: true}).filter(f => f.endsWith('.js') && !f.startsWith('vendor'))) {
			assert.doesNotMatch(fs.readFileSync(path.join(dir, f), 'utf8'), /innerHTML|outerHTML|insertAdjacentHTML|document\.write/, f);
		}
		clean(p);
		await p.close();
	});

	it('steady-state request rate of an open Overview tab is within budget', async () => {
		const p = await openApp();
		const {page} = p;
		await page.locator('[data-panel=overview] .jm-card').first().waitFor();
		await page.waitForTimeout(POLL_MS + 1000); // past start-up (modules, uPlot)
		const t0 = Date.now(), n0 = p.requests.length;
		await page.waitForTimeout(30000);
		const n = p.requests.length - n0, secs = (Date.now() - t0) / 1000;
		const rate = n / secs;
		console.log(`# steady-state requests: ${n} in ${secs.toFixed(1)} s = ${rate.toFixed(3)} requests/s (budget 0.4)`);
		assert.ok(rate <= 0.4, `rate ${rate} requests/s`);
		assert.ok(n >= 1, 'the tab does poll');
		clean(p);
		await p.close();
	});

	it('server errors show their message, back off, grey the values, and recover', async () => {
		const p = await openApp({allowConsole: [/status of 503/], allowStatus: [503]});
		const {page} = p;
		const panel = page.locator('[data-panel=overview]');
		await panel.locator('.jm-card').first().waitFor();
		const route = r => r.fulfill({status: 503, contentType: 'application/json',
			body: JSON.stringify({ok: false, error: {code: 'busy', message: 'Router busy <b>now</b>', field: null}})});
		await page.route('**/api/overview', route);
		const t0 = Date.now();
		await page.locator('.jm-banner', {hasText: '(Router busy <b>now</b>)'}).waitFor({timeout: POLL_MS + 2000});
		await page.waitForFunction(() => document.querySelector('[data-panel=overview]').classList.contains('jm-stale'), null, {timeout: 4 * POLL_MS});
		const staleAfter = (Date.now() - t0) / 1000;
		const failed = p.requests.filter(r => r.url.includes('/api/overview') && r.t >= t0).length;
		// 5 s, then 10 s, then 20 s apart: at most 3 attempts in the first ~20 s.
		assert.ok(failed <= 3, `${failed} attempts while failing (backoff)`);
		await page.unroute('**/api/overview', route);
		await page.locator('.jm-banner').waitFor({state: 'hidden', timeout: 25000});
		assert.equal(await panel.evaluate(el => el.classList.contains('jm-stale')), false);
		console.log(`# stale after ${staleAfter.toFixed(1)} s without a successful poll`);
		clean(p);
		await p.close();
	});

	it('a hidden browser tab does not poll, and polls again when visible', async () => {
		const p = await openApp();
		const {page} = p;
		await page.locator('[data-panel=overview] .jm-card').first().waitFor();
		const setHidden = hidden => page.evaluate(h => {
			Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => (h ? 'hidden' : 'visible')});
			document.dispatchEvent(new Event('visibilitychange'));
		}, hidden);
		await page.waitForTimeout(500);
		await setHidden(true);
		const n0 = p.requests.length;
		await page.waitForTimeout(2 * POLL_MS + 1000);
		assert.equal(p.requests.length, n0, 'no request while hidden');
		const answered = page.waitForResponse(r => r.url().includes('/api/overview'), {timeout: 2000});
		await setHidden(false);
		await answered; // overdue, so it polls at once
		clean(p);
		await p.close();
	});

	it('the LuCI view mounts the app with L.env.sessionid and honours a read-only ACL', async () => {
		// A minimal stand-in for LuCI's loader: it compiles the view file with new Function, as
		// LuCI's L.require does, and provides the few globals the view uses. Served from the
		// real server's origin (page.route), so the app modules and the API are the real ones.
		const p = await openPage(browser);
		const {page} = p;
		const origin = new URL(appUrl(env.sid)).origin;
		const viewSrc = fs.readFileSync(path.join(REPO, 'luci/htdocs/luci-static/resources/view/jammonitor/main.js'), 'utf8');
		await page.route(origin + '/luci-harness.html', r => r.fulfill({contentType: 'text/html', body: `<!DOCTYPE html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"></head><body><div id="view"></div><script>
window.E = function(tag, attrs, kids) { var el = document.createElement(tag);
	for (var k in (attrs || {})) el.setAttribute(k, attrs[k]);
	(kids || []).forEach(function(c) { el.append(c); }); return el; };
window.L = {env: {sessionid: ${JSON.stringify(env.sid)}}, hasViewPermission: function() { return false; },
	resource: function(p) { return '/luci-static/resources/' + p; }};
fetch('/luci-static/resources/view/jammonitor/main.js').then(function(r) { return r.text(); }).then(function(src) {
	var View = (new Function('view', '_', src))({extend: function(o) { return o; }}, function(s) { return s; });
	window.__view = View;
	document.getElementById('view').appendChild(View.render());
});
</script></body></html>`}));
		await page.route(origin + '/luci-static/resources/view/jammonitor/main.js', r => r.fulfill({contentType: 'text/javascript', body: viewSrc}));
		await page.goto(origin + '/luci-harness.html');
		await page.locator('[data-panel=overview] .jm-card[data-wan]').first().waitFor();
		assert.equal(await page.locator('.jm-top .jm-badge', {hasText: 'Read-only session'}).count(), 1);
		assert.deepEqual(await page.evaluate(() => [__view.handleSave, __view.handleSaveApply, __view.handleReset]), [null, null, null]);
		clean(p);
		await p.close();
	});

	it('screenshots of Overview and Interfaces, desktop and phone', async () => {
		fs.mkdirSync(SCREENSHOTS, {recursive: true});
		for (const [name, width, height] of [['desktop', 1280, 900], ['phone', 375, 812]]) {
			const p = await openApp({width, height});
			const {page} = p;
			await page.locator('[data-panel=overview] .jm-card').first().waitFor();
			await page.waitForTimeout(3 * POLL_MS + 500); // a few throughput points for the graphs
			await page.screenshot({path: path.join(SCREENSHOTS, `overview-${name}.png`), fullPage: true});
			await page.click('.jm-tab[data-tab=interfaces]');
			await page.locator('.jm-card[data-if]').first().waitFor();
			await page.screenshot({path: path.join(SCREENSHOTS, `interfaces-${name}.png`), fullPage: true});
			clean(p);
			await p.close();
		}
	});
});
