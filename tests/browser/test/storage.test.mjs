// Browser tests of Diagnostics → USB storage and history against the real server, the simulated
// router and the collector (tests/browser/run.sh starts it through a double of its init script,
// so collector.start/stop from the page run the same path as on a router).

import {describe, it, before, after} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {env, appUrl, launch, openPage, api, SCREENSHOTS} from '../lib/harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

function clean(p) {
	assert.deepEqual(p.problems, [], 'console errors, page errors or failed requests:\n' + p.problems.join('\n'));
}

async function openApp(opts = {}, sid = env.sid, hash = 'tab=diagnostics') {
	const p = await openPage(browser, opts);
	await p.page.goto(appUrl(sid, hash));
	return p;
}

// A POST as the page makes it; returns {status, json}.
async function post(action, body, sid = env.sid) {
	const base = env.url.replace(/\/luci-static\/.*$/, '');
	const res = await fetch(base + '/cgi-bin/jammonitor/api/' + action, {
		method: 'POST', headers: {Authorization: 'Bearer ' + sid, 'Content-Type': 'application/json'}, body: JSON.stringify(body)});
	return {status: res.status, json: await res.json()};
}

// A USB stick that is not there: the page sees it (the storage answer is rewritten in the
// browser), the server does not, so nothing can ever be formatted.
const FAKE = {
	name: 'sdz1', path: '/dev/sdz1', disk: 'sdz', partition: true, size_bytes: 8004304896, removable: true, usb: true,
	read_only: false, model: 'Stick <b>x</b><img src=x onerror=window.__pwned=1>', vendor: 'Test', serial: null, system: false,
	mounted_at: [], in_use_for_history: false, fstype: 'vfat', uuid: '1234-ABCD', label: 'MYSTICK',
	can_format: true, can_mount: false, refusals: [],
};

describe('Diagnostics: USB storage and history', () => {
	it('lists the block devices and the database and collector figures of `storage`', async () => {
		// The collector (started with the rig, a sample every JM_COLLECTOR_INTERVAL s) must have
		// written a sample, or the date range is "No sample yet" (this file alone runs first).
		for (let t0 = Date.now(); !(await api('storage')).database?.last_sample;) {
			assert.ok(Date.now() - t0 < 90000, 'the collector wrote no sample in 90 s');
			await new Promise(r => setTimeout(r, 1000));
		}
		const p = await openPage(browser);
		const {page} = p;
		const answered = page.waitForResponse(r => r.url().includes('/api/storage'));
		await page.goto(appUrl(env.sid, 'tab=diagnostics'));
		const s = (await (await answered).json()).data;
		await page.locator('.jm-storage [data-device]').first().waitFor();
		const direct = await api('storage');
		assert.deepEqual(s.devices.map(d => d.name), direct.devices.map(d => d.name), 'the page got what the API answers');
		assert.equal(await page.locator('.jm-storage [data-device]').count(), s.devices.length);
		const fmt = await page.evaluate(async x => {
			const f = await import('./format.js');
			return {sizes: x.sizes.map(f.bytes), db: f.bytes(x.db), rows: f.count(x.rows), first: f.datetime(x.first), last: f.datetime(x.last)};
		}, {sizes: s.devices.map(d => d.size_bytes), db: s.database.size_bytes,
			rows: Object.values(s.database.rows || {}).reduce((a, b) => a + b, 0), first: s.database.first_sample, last: s.database.last_sample});
		for (const [i, d] of s.devices.entries()) {
			const text = await page.locator(`.jm-storage [data-device="${d.name}"]`).innerText();
			assert.ok(text.includes(d.path), `${d.name}: path`);
			assert.ok(text.includes(fmt.sizes[i]), `${d.name}: size ${fmt.sizes[i]} in ${text}`);
			assert.ok(text.includes(d.fstype || 'none'), `${d.name}: filesystem`);
			assert.match(text, d.removable ? /USB|removable/ : /not removable/);
			for (const r of d.refusals) assert.ok(text.includes(r), `${d.name}: refusal "${r}" shown`);
			const format = page.locator(`.jm-storage [data-device="${d.name}"] [data-action=format]`);
			if (!d.system) assert.equal(await format.isDisabled(), !d.can_format, `${d.name}: Format… enabled iff can_format`);
		}
		assert.ok(s.database.available, 'the collector has made its database');
		const db = await page.locator('.jm-block', {hasText: 'History database'}).innerText();
		assert.match(db, s.database.placement === 'usb' ? /USB storage/ : /RAM/);
		assert.ok(db.includes(s.database.path), 'database path');
		assert.ok(db.includes(fmt.db), `size ${fmt.db}`);
		assert.match(db, new RegExp('Rows\\s+' + fmt.rows.replace(/[.,]/g, '.')));
		assert.ok(db.includes(fmt.first) && db.includes(fmt.last), `date range ${fmt.first} to ${fmt.last}: ${db}`);
		assert.match(db, /Free space\s+[\d.,]+ \w+ free of [\d.,]+ \w+/);
		const col = await page.locator('.jm-block', {hasText: 'Collector'}).first().innerText();
		assert.match(col, /State\s+running/);
		assert.ok(col.includes('pid ' + s.collector.pid));
		assert.match(col, /Last sample\s+(now|\d+ sec\. ago)/);
		assert.match(await page.locator('.jm-block', {hasText: 'USB storage at'}).innerText(), new RegExp(s.mounted ? 'Device' : 'Nothing is mounted here'));
		clean(p);
		await p.close();
	});

	it('format wizard: disabled until FORMAT is typed and the label is valid; the server\'s refusal is shown as returned', async () => {
		const p = await openPage(browser, {allowStatus: [400], allowConsole: [/status of 400/]});
		const {page} = p;
		await page.route('**/api/storage', async route => {
			const res = await route.fetch();
			const json = await res.json();
			json.data.devices.push(FAKE);
			await route.fulfill({response: res, json});
		});
		await page.goto(appUrl(env.sid, 'tab=diagnostics'));
		const card = page.locator('.jm-storage [data-device="sdz1"]');
		await card.waitFor();
		assert.ok((await card.innerText()).includes(FAKE.model), 'a device model is text, never markup');
		assert.equal(await page.evaluate(() => window.__pwned ?? null), null);
		await card.locator('[data-action=format]').click();
		const go = page.locator('[data-action=format-go]');
		await go.waitFor();
		assert.match(await page.locator('.jm-wizard').innerText(), /Format \/dev\/sdz1 as ext4/);
		assert.equal(await go.isDisabled(), true, 'nothing typed');
		for (const typed of ['format', 'FORMAT ', 'FORMA', 'Format']) {
			await page.fill('#jm-fmt-confirm', typed);
			assert.equal(await go.isDisabled(), true, `"${typed}" is not FORMAT`);
		}
		await page.fill('#jm-fmt-confirm', 'FORMAT');
		assert.equal(await go.isDisabled(), false, 'FORMAT typed');
		await page.fill('#jm-fmt-label', 'x;reboot');
		assert.equal(await go.isDisabled(), true, 'label with a shell metacharacter');
		assert.equal(await page.locator('#jm-fmt-label').getAttribute('aria-invalid'), 'true');
		await page.fill('#jm-fmt-label', 'JAMTEST');
		assert.equal(await go.isDisabled(), false);
		// The server has the last word (the device is not there): its message, as returned.
		const expected = await post('storage.format', {device: 'sdz1', confirm: 'FORMAT', label: 'JAMTEST'});
		assert.equal(expected.status, 400);
		await go.click();
		const err = page.locator('.jm-wizard .jm-form-error');
		await err.waitFor();
		// our sentence for the error code, then the server's own text as it returned it (errors.js)
		assert.ok((await err.innerText()).endsWith('(' + expected.json.error.message + ')'), await err.innerText());
		// And without FORMAT the server refuses too, before looking at the device.
		const noConfirm = await post('storage.format', {device: 'sdz1', label: 'JAMTEST'});
		assert.equal(noConfirm.status, 400);
		assert.equal(noConfirm.json.error.field, 'confirm');
		clean(p);
		await p.close();
	});

	it('a read-only session sees storage but every write control is disabled', async () => {
		const p = await openApp({}, env.sidRo);
		const {page} = p;
		await page.locator('.jm-storage [data-device]').first().waitFor();
		await page.locator('.jm-storage [data-write]').first().waitFor();
		await page.waitForFunction(() => !document.querySelector('.jm-storage > .jm-note').hidden);
		const states = await page.$$eval('.jm-storage [data-write]', bs => bs.map(b => ({a: b.dataset.action, disabled: b.disabled, title: b.title})));
		assert.ok(states.length >= 2, 'collector and device controls exist');
		for (const s of states) {
			assert.equal(s.disabled, true, `${s.a} disabled`);
			assert.equal(s.title, 'Read-only session: changes are disabled.');
		}
		clean(p);
		await p.close();
	});

	it('collector stop and start from the page; the Overview says plainly when it is not running', async () => {
		const p = await openApp();
		const {page} = p;
		const state = () => page.locator('.jm-storage [data-state]').getAttribute('data-state');
		await page.locator('[data-action=collector-stop]').waitFor();
		let stopped = false;
		try {
			await page.click('[data-action=collector-stop]');
			await page.locator('.jm-msg', {hasText: 'The collector stopped.'}).waitFor({timeout: 20000});
			stopped = true;
			await page.waitForFunction(() => document.querySelector('.jm-storage [data-state]')?.dataset.state === 'stopped', null, {timeout: 15000});
			assert.equal((await api('storage')).collector.running, false);
			// Overview: its last live file stays behind; the page must not pass it off as live.
			await page.click('.jm-tab[data-tab=overview]');
			await page.locator('[data-panel=overview] .jm-block', {hasText: 'the collector is not running or is stuck'}).waitFor({timeout: 30000});
			assert.equal(await page.locator('[data-panel=overview] .jm-block', {hasText: 'Pings'}).evaluate(e => e.classList.contains('jm-stale')), true);
		} finally {
			await page.click('.jm-tab[data-tab=diagnostics]');
			if (stopped) {
				await page.locator('[data-action=collector-start]').waitFor({timeout: 15000});
				await page.click('[data-action=collector-start]');
				await page.locator('.jm-msg', {hasText: 'The collector is running.'}).waitFor({timeout: 20000}).catch(async e => {
					await post('collector.start', {}); // leave it running for the next tests
					throw e;
				});
			}
		}
		await page.waitForFunction(() => document.querySelector('.jm-storage [data-state]')?.dataset.state === 'running', null, {timeout: 15000});
		assert.equal(await state(), 'running');
		assert.equal((await api('storage')).collector.running, true);
		clean(p);
		await p.close();
	});

	it('Diagnostics fits 375 px and takes the screenshots', async () => {
		fs.mkdirSync(SCREENSHOTS, {recursive: true});
		for (const [name, width, height] of [['desktop', 1280, 900], ['phone', 375, 812]]) {
			const p = await openApp({width, height});
			const {page} = p;
			await page.locator('.jm-storage [data-device]').first().waitFor();
			assert.ok(await page.evaluate(() => document.documentElement.scrollWidth) <= width, `fits ${width} px`);
			await page.screenshot({path: path.join(SCREENSHOTS, `diagnostics-${name}.png`), fullPage: true});
			clean(p);
			await p.close();
		}
	});
});
