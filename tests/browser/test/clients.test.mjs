// Browser tests of the Clients and Wi-Fi APs tabs against the real server, the simulated router
// (clients jm-c1..3 on the LAN bridge) and the collector. What the rig cannot have — Wi-Fi
// radios, a tailscaled — comes from the documented doubles: ubus fixtures (tests/fixtures/ubus)
// served by the ubus double, and the tailscale CLI double (tests/doubles/tailscale). Every change
// a test makes to the live root or the configs is undone in `finally`.

import {describe, it, before, after} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import {execFileSync} from 'node:child_process';
import path from 'node:path';
import {env, appUrl, launch, openPage, api, sh, REPO, SCREENSHOTS} from '../lib/harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const ROOT = () => {
	const r = process.env.JM_ROOT;
	if (!r) throw new Error('JM_ROOT is not set: run tests/browser/run.sh');
	return r;
};
const C1 = '02:00:00:00:01:0a', C2 = '02:00:00:00:01:0b', C3 = '02:00:00:00:01:0c';
const EVIL = '<img src=x onerror=alert(1)>';
// A lease file's host name field cannot hold spaces: the same markup without them.
const EVIL_LEASE = '<img/src=x/onerror=alert(1)>';

function clean(p) {
	assert.deepEqual(p.problems, [], 'console errors, page errors or failed requests:\n' + p.problems.join('\n'));
}

async function post(action, body, sid = env.sid) {
	const base = env.url.replace(/\/luci-static\/.*$/, '');
	const res = await fetch(base + '/cgi-bin/jammonitor/api/' + action, {
		method: 'POST', headers: {Authorization: 'Bearer ' + sid, 'Content-Type': 'application/json'}, body: JSON.stringify(body)});
	return {status: res.status, json: await res.json()};
}

function uci(...args) {
	return sh(path.join(REPO, 'build/uci/bin/uci'), ['-c', path.join(ROOT(), 'etc/config'), '-t', path.join(ROOT(), 'tmp/.uci'), ...args]);
}

async function openTab(tab, opts = {}) {
	const p = await openPage(browser, opts);
	const dialogs = [];
	p.page.on('dialog', d => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
	p.dialogs = dialogs;
	await p.page.goto(appUrl(env.sid, 'tab=' + tab));
	return p;
}

const rowOf = (page, mac) => page.locator(`.jm-clients-table tr.jm-client[data-mac="${mac}"]`);

describe('Clients tab', () => {
	it('shows every rig client by subnet and a hostile hostname only as text', async () => {
		const leases = path.join(ROOT(), 'tmp/dhcp.leases');
		const saved = fs.readFileSync(leases, 'utf8');
		try {
			fs.writeFileSync(leases, saved.split('\n').map(l => (l.includes(' ' + C3 + ' ') ? l.replace(/^(\S+ \S+ \S+) \S+/, `$1 ${EVIL_LEASE}`) : l)).join('\n'));
			const p = await openTab('clients');
			const {page} = p;
			await rowOf(page, C3).waitFor();
			const d = await api('clients');
			const lan = d.subnets.find(s => s.name === 'lan');
			assert.ok(lan, 'the lan subnet');
			const group = page.locator('tbody.jm-group[data-group="subnet:lan"]');
			assert.match(await group.locator('.jm-group-toggle').innerText(), /lan — 192\.168\.100\.0\/24 \(\d+\)/);
			for (const mac of [C1, C2, C3]) assert.equal(await group.locator(`tr[data-mac="${mac}"]`).count(), 1, mac);
			// The hostile name is shown literally; no element was made from it, nothing ran.
			assert.equal(await rowOf(page, C3).locator('.jm-name').innerText(), EVIL_LEASE);
			assert.equal(await page.locator('.jm-clients img').count(), 0);
			assert.deepEqual(p.dialogs, [], 'no alert ran');
			// Rates come from the collector's history; every client shows a rate or a dash.
			const c1 = await rowOf(page, C1).innerText();
			const c1api = d.clients.find(c => c.mac === C1);
			if (c1api.display_name) assert.ok(c1.includes(c1api.display_name), `${c1api.display_name} in ${c1}`);
			assert.match(c1, /private address/);
			if (d.history.rate_window) assert.match(c1, /bit\/s/);
			await page.screenshot({path: path.join(SCREENSHOTS, 'clients-desktop.png'), fullPage: true});
			await page.setViewportSize({width: 390, height: 844});
			await page.screenshot({path: path.join(SCREENSHOTS, 'clients-phone.png'), fullPage: true});
			clean(p);
			await p.close();
		} finally {
			fs.writeFileSync(leases, saved);
		}
	});

	it('sorts by a column and filters with the search box', async () => {
		const p = await openTab('clients');
		const {page} = p;
		await rowOf(page, C1).waitFor();
		const macs = async () => page.locator('tbody[data-group="subnet:lan"] tr.jm-client').evaluateAll(rs => rs.map(r => r.dataset.mac));
		await page.click('button[data-sort=mac]');
		const asc = await macs();
		assert.deepEqual(asc, [...asc].sort(), 'MAC ascending');
		assert.equal(await page.getAttribute('button[data-sort=mac] >> xpath=..', 'aria-sort'), 'ascending');
		await page.click('button[data-sort=mac]');
		const descending = await macs();
		assert.deepEqual(descending, [...asc].reverse(), 'MAC descending');
		await page.click('button[data-sort=ip]');
		assert.deepEqual((await macs()).slice(0, 3), [C1, C2, C3], 'by IP: .10, .11, .12');
		const c1name = (await api('clients')).clients.find(c => c.mac === C1).display_name;
		await page.fill('[data-role=search]', c1name);
		assert.deepEqual(await macs(), [C1], `search ${c1name}`);
		assert.match(await page.locator('[data-role=count]').innerText(), /^1 of \d+ clients$/);
		await page.fill('[data-role=search]', '01:0b');
		assert.deepEqual(await macs(), [C2]);
		await page.fill('[data-role=search]', '');
		assert.equal((await macs()).length, asc.length);
		// Collapsing a subnet hides its rows and is remembered.
		await page.click('button.jm-group-toggle[data-group="subnet:lan"]');
		assert.equal(await page.locator('tbody[data-group="subnet:lan"] tr.jm-client').count(), 0);
		await page.click('button.jm-group-toggle[data-group="subnet:lan"]');
		assert.equal((await macs()).length, asc.length);
		clean(p);
		await p.close();
	});

	it('edits a name inline and overrides the type', async () => {
		const p = await openTab('clients');
		const {page} = p;
		try {
			await rowOf(page, C1).waitFor();
			await rowOf(page, C1).locator('[data-action=edit-name]').click();
			const inp = rowOf(page, C1).locator('.jm-name-input');
			await inp.fill('Anna’s <b>laptop</b>');
			const saved = page.waitForResponse(r => r.url().includes('/api/clients.meta') && r.request().method() === 'POST');
			await inp.press('Enter');
			assert.equal((await saved).status(), 200);
			await page.waitForFunction(mac => document.querySelector(`tr[data-mac="${mac}"] .jm-name`)?.textContent === 'Anna’s <b>laptop</b>', C1);
			assert.equal(await rowOf(page, C1).locator('.jm-client-name b').count(), 0, 'markup stays text');
			assert.equal((await api('clients')).clients.find(c => c.mac === C1).name, 'Anna’s <b>laptop</b>');
			// Escape cancels an edit without saving.
			await rowOf(page, C1).locator('[data-action=edit-name]').click();
			await rowOf(page, C1).locator('.jm-name-input').fill('discarded');
			await rowOf(page, C1).locator('.jm-name-input').press('Escape');
			assert.equal(await rowOf(page, C1).locator('.jm-name').innerText(), 'Anna’s <b>laptop</b>');
			// Type override.
			const typed = page.waitForResponse(r => r.url().includes('/api/clients.meta') && r.request().method() === 'POST');
			await rowOf(page, C1).locator('select[data-action=type]').selectOption('console');
			assert.equal((await typed).status(), 200);
			const c = (await api('clients')).clients.find(x => x.mac === C1);
			assert.equal(c.type, 'console');
			assert.equal(c.type_custom, true);
			await page.waitForFunction(mac => document.querySelector(`tr[data-mac="${mac}"] .jm-type-icon`)?.textContent === '🎮', C1);
			// Back to automatic.
			const auto = page.waitForResponse(r => r.url().includes('/api/clients.meta'));
			await rowOf(page, C1).locator('select[data-action=type]').selectOption('');
			await auto;
			assert.equal((await api('clients')).clients.find(x => x.mac === C1).type, 'laptop');
			clean(p);
		} finally {
			await post('clients.meta', {mac: C1, name: null, type: null});
			await p.close();
		}
	});

	it('creates a DHCP reservation, refuses a taken address at the field, deletes it', async () => {
		// The refusal is an expected 409 (Chrome also logs it on the console).
		const p = await openTab('clients', {allowStatus: [409], allowConsole: [/status of 409/]});
		const {page} = p;
		const before = fs.readFileSync(path.join(ROOT(), 'etc/config/dhcp'), 'utf8');
		try {
			await rowOf(page, C2).waitFor();
			assert.equal(await rowOf(page, C2).locator('[data-action=reserve]').innerText(), 'Reserve');
			await rowOf(page, C2).locator('[data-action=reserve]').click();
			const dlg = page.locator('dialog.jm-reserve-dialog');
			await dlg.waitFor();
			// Taken by the printer (another MAC): refused, shown under the IP field, nothing written.
			await dlg.locator('[data-field=ip] input').fill('192.168.100.12');
			const refused = page.waitForResponse(r => r.url().includes('/api/clients.reserve'));
			await dlg.locator('[data-action=save]').click();
			assert.equal((await refused).status(), 409);
			await dlg.locator('[data-field=ip] .jm-field-error').waitFor();
			assert.match(await dlg.locator('[data-field=ip] .jm-field-error').innerText(), /already reserved/);
			assert.equal(fs.readFileSync(path.join(ROOT(), 'etc/config/dhcp'), 'utf8'), before, 'dhcp config unchanged');
			await dlg.locator('[data-field=ip] input').fill('192.168.100.66');
			await dlg.locator('[data-field=name] input').fill('bens-phone');
			const ok = page.waitForResponse(r => r.url().includes('/api/clients.reserve'));
			await dlg.locator('[data-action=save]').click();
			assert.equal((await ok).status(), 200);
			await page.waitForFunction(mac => /Reserved 192\.168\.100\.66/.test(document.querySelector(`tr[data-mac="${mac}"] [data-action=reserve]`)?.textContent || ''), C2);
			assert.equal(uci('get', 'dhcp.jm_02000000010b.ip').trim(), '192.168.100.66');
			assert.equal(uci('get', 'dhcp.jm_02000000010b.name').trim(), 'bens-phone');
			// Delete from the same dialog.
			await rowOf(page, C2).locator('[data-action=reserve]').click();
			await dlg.waitFor();
			const del = page.waitForResponse(r => r.url().includes('/api/clients.unreserve'));
			await dlg.locator('[data-action=delete]').click();
			assert.equal((await del).status(), 200);
			await page.waitForFunction(mac => document.querySelector(`tr[data-mac="${mac}"] [data-action=reserve]`)?.textContent === 'Reserve', C2);
			assert.ok(!uci('show', 'dhcp').includes('jm_02000000010b'));
			clean(p);
		} finally {
			await post('clients.unreserve', {mac: C2});
			await p.close();
		}
	});

	it('shows Tailscale peers when tailscale is installed, and hides the block when not', async () => {
		const bin = path.join(ROOT(), 'usr/sbin/tailscale');
		const state = path.join(ROOT(), 'var/run/doubles');
		const cache = path.join(ROOT(), 'var/run/jammonitor/tailscale.json');
		try {
			let p = await openTab('clients');
			await rowOf(p.page, C1).waitFor();
			assert.equal(await p.page.locator('tbody[data-group=tailscale]').count(), 0, 'no tailscale: no block');
			await p.close();

			fs.mkdirSync(path.dirname(bin), {recursive: true});
			fs.mkdirSync(state, {recursive: true});
			fs.symlinkSync(path.join(REPO, 'tests/doubles/tailscale'), bin);
			fs.copyFileSync(path.join(REPO, 'tests/fixtures/tailscale/status.json'), path.join(state, 'tailscale-status.json'));
			fs.rmSync(cache, {force: true});
			p = await openTab('clients');
			const {page} = p;
			await page.locator('tbody[data-group=tailscale] tr.jm-ts-peer').first().waitFor();
			const rows = page.locator('tbody[data-group=tailscale] tr.jm-ts-peer');
			assert.equal(await rows.count(), 2);
			assert.equal(await rows.nth(0).locator('.jm-name').innerText(), EVIL, 'peer name as text');
			assert.match(await rows.nth(0).innerText(), /Exit node/);
			assert.match(await rows.nth(1).innerText(), /work-laptop[\s\S]*100\.101\.1\.2[\s\S]*|100\.101\.1\.2[\s\S]*work-laptop/);
			assert.equal(await page.locator('.jm-clients img').count(), 0);
			assert.deepEqual(p.dialogs, []);
			clean(p);
			await p.close();

			fs.rmSync(bin);
			fs.rmSync(cache, {force: true});
			p = await openTab('clients');
			await rowOf(p.page, C1).waitFor();
			assert.equal(await p.page.locator('tbody[data-group=tailscale]').count(), 0, 'removed: hidden again');
			await p.close();
		} finally {
			fs.rmSync(bin, {force: true});
			fs.rmSync(path.join(state, 'tailscale-status.json'), {force: true});
			fs.rmSync(cache, {force: true});
		}
	});
});

describe('Wi-Fi APs tab', () => {
	it('shows a card per radio (2.4/5/6 GHz, one disabled) and the stations', async () => {
		// the fixture set served on the live root's real ubusd by the bed's ubus fixture server
		const objects = path.join(ROOT(), '.bed/ubus');
		const restart = () => execFileSync(path.join(REPO, 'tests/bed/webstack.sh'), ['restart-fixtures', ROOT()]);
		const wireless = path.join(ROOT(), 'etc/config/wireless');
		try {
			fs.cpSync(path.join(REPO, 'tests/fixtures/ubus/tri-band'), objects, {recursive: true});
			restart();
			fs.writeFileSync(wireless, ['2g', '5g', '6g', '5g'].map((b, i) => `config wifi-device 'radio${i}'\n\toption type 'mac80211'\n\toption band '${b}'\n`).join('\n'));
			const p = await openTab('wifi');
			const {page} = p;
			await page.locator('.jm-radio[data-radio=radio0]').waitFor();
			assert.equal(await page.locator('.jm-radio').count(), 4);
			const r0 = await page.locator('.jm-radio[data-radio=radio0]').innerText();
			assert.match(r0, /radio0 · 2\.4 GHz/);
			assert.match(r0, /Channel\s+6 \(2437 MHz\)/);
			assert.match(r0, /Width\s+20 MHz/);
			assert.match(r0, /Tx power\s+20 dBm/);
			assert.match(r0, /28\.5\s?%/);
			assert.ok(r0.includes('<b>Guest</b>'), 'SSID markup shown as text');
			assert.match(await page.locator('.jm-radio[data-radio=radio1]').innerText(), /5 GHz[\s\S]*80 MHz/);
			assert.match(await page.locator('.jm-radio[data-radio=radio2]').innerText(), /6 GHz[\s\S]*320 MHz/);
			assert.match(await page.locator('.jm-radio[data-radio=radio3]').innerText(), /Disabled/);
			assert.equal(await page.locator('.jm-stations tbody tr[data-mac]').count(), 4);
			assert.match(await page.locator('.jm-stations tr[data-mac="7a:11:22:33:44:55"]').innerText(), /Wi-Fi 7/);
			assert.equal(await page.locator('.jm-wifi b, .jm-wifi img').count(), 0);
			await page.screenshot({path: path.join(SCREENSHOTS, 'wifi-desktop.png'), fullPage: true});
			await page.setViewportSize({width: 390, height: 844});
			await page.screenshot({path: path.join(SCREENSHOTS, 'wifi-phone.png'), fullPage: true});
			clean(p);
			await p.close();
		} finally {
			for (const o of ['network.wireless', 'iwinfo']) fs.rmSync(path.join(objects, o), {recursive: true, force: true});
			restart();
			fs.rmSync(wireless, {force: true});
		}
		const p = await openTab('wifi');
		// "Loading…" stands in the same place until the first answer: wait for the answer's note.
		await p.page.locator('.jm-radios .jm-note', {hasText: /no Wi-Fi radio/}).waitFor();
		assert.match(await p.page.locator('.jm-radios').innerText(), /no Wi-Fi radio/);
		await p.close();
	});

	it('remote AP editor: an invalid IP is refused at the field, a valid list is saved and pinged', async () => {
		const p = await openTab('wifi');
		const {page} = p;
		const sent = [];
		page.on('request', r => { if (r.url().includes('/api/wifi.aps')) sent.push(r.postData()); });
		try {
			await page.locator('[data-action=edit-aps]').click();
			const dlg = page.locator('dialog.jm-aps-dialog');
			await dlg.waitFor();
			const row = dlg.locator('.jm-ap-row').last();
			await row.locator('input[data-field=name]').fill('lan-client');
			await row.locator('input[data-field=ip]').fill('192.168.100.300');
			await dlg.locator('[data-action=save]').click();
			const err = row.locator('.jm-field-error').nth(1);
			await err.waitFor();
			assert.match(await err.innerText(), /IPv4/);
			assert.equal(await row.locator('input[data-field=ip]').getAttribute('aria-invalid'), 'true');
			assert.deepEqual(sent, [], 'nothing sent while a field is invalid');
			// jm-c3 answers pings inside the rig.
			await row.locator('input[data-field=ip]').fill('192.168.100.12');
			const ok = page.waitForResponse(r => r.url().includes('/api/wifi.aps'));
			await dlg.locator('[data-action=save]').click();
			assert.equal((await ok).status(), 200);
			await page.locator('.jm-ap[data-ap=lan-client]').waitFor();
			assert.equal(uci('get', 'jammonitor.ap_1.ip').trim(), '192.168.100.12');
			// The collector reloads its targets and pings it: the badge turns Online.
			await page.waitForFunction(() => /Online/.test(document.querySelector('.jm-ap[data-ap=lan-client]')?.textContent || ''), null, {timeout: 30000});
			assert.match(await page.locator('.jm-ap[data-ap=lan-client]').innerText(), /Latency\s+[\d.,]+ ms/);
			clean(p);
		} finally {
			await post('wifi.aps', {aps: []});
			await p.close();
		}
	});
});
