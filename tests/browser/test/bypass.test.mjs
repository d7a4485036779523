// Browser test of the VPS bypass (issue 16) against the real server and the simulated router:
// the Overview's toggle asks first (a cancel changes nothing) and states the impact, the router
// really goes into bypass (every managed WAN's multipath off, the VPN flags, the tracker's hotplug
// script aside, the kernel's MPTCP endpoints gone), the banner shows on every tab with the WAN
// carrying the traffic, WAN Policy is locked, and turning it off restores the page and every
// config byte for byte. A read-only session sees the state but cannot toggle it.
// Leaves the rig as it found it (bypass off).

import {describe, it, before, after} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {env, appUrl, launch, openPage, sh, api, SCREENSHOTS} from '../lib/harness.mjs';

const ROOT = () => process.env.JM_ROOT;
const CONFIGS = ['network', 'openmptcprouter', 'shadowsocks-rust', 'openvpn', 'glorytun', 'jammonitor', 'firewall'];
const HOTPLUG = () => path.join(ROOT(), 'etc/hotplug.d/iface/40-omr-tracker');
const TABS = ['overview', 'wan-policy', 'interfaces', 'clients', 'wifi', 'bandwidth', 'diagnostics', 'settings'];

let browser;

const configs = () => Object.fromEntries(CONFIGS.map(c => {
	const p = path.join(ROOT(), 'etc/config', c);
	return [c, fs.existsSync(p) ? fs.readFileSync(p, 'utf8') : null];
}));
// Without the ids (the kernel numbers re-added endpoints anew).
const endpoints = () => sh('ip', ['-n', 'jm-router', 'mptcp', 'endpoint', 'show']).replace(/ id \d+/g, '');

async function post(action, body) {
	const base = env.url.replace(/\/luci-static\/.*$/, '');
	const res = await fetch(base + '/cgi-bin/jammonitor/api/' + action, {
		method: 'POST', body: JSON.stringify(body),
		headers: {Authorization: 'Bearer ' + env.sid, 'Content-Type': 'application/json', Origin: new URL(base).origin},
	});
	return res.json();
}

async function settle() {
	for (let i = 0; i < 200; i++) {
		const s = await api('bypass');
		if (s.state === 'on' || s.state === 'off') return s;
		await new Promise(r => setTimeout(r, 300));
	}
	throw new Error('bypass still changing');
}

// Bypass off, whatever a failed run left.
async function restore() {
	const s = await settle();
	if (s.active) {
		await post('bypass.disable', {});
		assert.equal((await settle()).state, 'off');
	}
}

function clean(p) {
	assert.deepEqual(p.problems, [], 'console errors, page errors or failed requests:\n' + p.problems.join('\n'));
}

before(async () => {
	browser = await launch();
	await restore();
});

after(async () => {
	try { await restore(); } finally { await browser?.close(); }
});

describe('VPS bypass', () => {
	it('asks first, then the banner shows on every tab, WAN Policy is locked, and turning it off restores the page', async () => {
		const before = configs();
		const epBefore = endpoints();
		assert.match(epBefore, /dev lan1/, 'bonding is on in the rig');
		const hotplug = fs.readFileSync(HOTPLUG());
		const st = await api('bypass');
		assert.equal(st.state, 'off');
		const wanTitle = st.wan.label ? `${st.wan.label} (${st.wan.name})` : st.wan.name;

		const p = await openPage(browser);
		p.page.on('dialog', d => { p.problems.push('unexpected JS dialog: ' + d.message()); d.dismiss(); });
		await p.page.goto(appUrl(env.sid, 'tab=overview'));
		const blockEl = p.page.locator('[data-block=bypass]');
		const toggle = blockEl.locator('.jm-bypass-toggle');
		const banner = p.page.locator('.jm-bypass-banner');
		await p.page.waitForFunction(() => document.querySelector('[data-block=bypass]')?.dataset.state === 'off');
		assert.equal(await toggle.innerText(), 'Turn on VPS bypass');
		assert.equal(await blockEl.locator('.jm-bypass-wan').innerText(), wanTitle);
		assert.equal(await banner.isVisible(), false, 'no banner while off');

		// The confirmation states the impact; Cancel changes nothing.
		await toggle.click();
		const dlg = p.page.locator('dialog.jm-confirm');
		await dlg.waitFor();
		const text = await dlg.innerText();
		assert.match(text, /Turn on VPS bypass\?/);
		assert.ok(text.includes(`All traffic will leave through ${wanTitle} directly`), text);
		assert.match(text, /The VPN and the proxy go down: .*openvpn/);
		assert.match(text, /Bonding stops: wan1, wan2, wan3/);
		assert.match(text, /WAN Policy is locked/);
		await p.page.screenshot({path: path.join(SCREENSHOTS, 'bypass-confirm.png')});
		await dlg.getByRole('button', {name: 'Cancel'}).click();
		await dlg.waitFor({state: 'detached'});
		assert.equal((await api('bypass')).state, 'off', 'Cancel sent nothing');
		assert.deepEqual(configs(), before);

		// Confirmed: the router goes into bypass, the page follows.
		await toggle.click();
		await dlg.getByRole('button', {name: 'Turn on bypass'}).click();
		await p.page.waitForFunction(() => document.querySelector('[data-block=bypass]')?.dataset.state === 'on', null, {timeout: 60000});
		await banner.waitFor();
		assert.ok((await banner.innerText()).includes(`all traffic leaves through ${wanTitle} directly`), await banner.innerText());
		assert.equal(await toggle.innerText(), 'Turn off VPS bypass');
		assert.equal(await blockEl.locator('.jm-bypass-wan').innerText(), wanTitle, 'the active WAN is shown');
		// Ground truth on the router.
		const now = configs();
		for (const w of ['wan1', 'wan2', 'wan3']) {
			assert.match(now.network, new RegExp(`config interface '${w}'[^]*?option multipath 'off'`), w);
		}
		assert.match(now['shadowsocks-rust'], /option disabled '1'/);
		assert.match(now.openvpn, /option enabled '0'/);
		assert.equal(fs.existsSync(HOTPLUG()), false, 'the tracker hotplug script is aside');
		assert.doesNotMatch(endpoints(), /dev lan[123]/, 'no MPTCP endpoint left');
		await p.page.screenshot({path: path.join(SCREENSHOTS, 'bypass-on.png')});

		// The banner on every tab.
		for (const tab of TABS) {
			await p.page.locator(`.jm-nav [data-tab="${tab}"]`).click();
			await p.page.locator(`[data-panel="${tab}"]`).first().waitFor();
			assert.equal(await banner.isVisible(), true, `banner on ${tab}`);
			assert.ok((await banner.innerText()).includes(wanTitle), tab);
		}
		// WAN Policy is locked.
		await p.page.locator('.jm-nav [data-tab="wan-policy"]').click();
		const lock = p.page.locator('.jm-wan-lock');
		await lock.waitFor();
		assert.match(await lock.innerText(), /WAN policy is locked while the VPS bypass is active/);
		await p.page.waitForFunction(() => document.querySelector('.jm-zones')?.classList.contains('jm-locked'));

		// Off: one click (nothing to confirm), everything back.
		await p.page.locator('.jm-nav [data-tab="overview"]').click();
		await toggle.click();
		await p.page.waitForFunction(() => document.querySelector('[data-block=bypass]')?.dataset.state === 'off', null, {timeout: 60000});
		await banner.waitFor({state: 'hidden'});
		assert.equal(await toggle.innerText(), 'Turn on VPS bypass');
		assert.deepEqual(configs(), before, 'every config byte-identical to before');
		assert.deepEqual(fs.readFileSync(HOTPLUG()), hotplug, 'the hotplug script is back');
		assert.equal(endpoints(), epBefore, 'the MPTCP endpoints are back');
		await p.page.locator('.jm-nav [data-tab="wan-policy"]').click();
		await p.page.locator('.jm-wan-row').first().waitFor();
		await p.page.waitForFunction(() => !document.querySelector('.jm-zones')?.classList.contains('jm-locked'));
		assert.equal(await p.page.locator('.jm-wan-lock').isVisible(), false, 'WAN Policy unlocked');
		assert.equal(await banner.isVisible(), false);
		clean(p);
		await p.close();
	});

	it('a read-only session sees the state but cannot turn it on', async () => {
		const p = await openPage(browser);
		await p.page.goto(appUrl(env.sidRo, 'tab=overview'));
		await p.page.waitForFunction(() => document.querySelector('[data-block=bypass]')?.dataset.state === 'off');
		const toggle = p.page.locator('[data-block=bypass] .jm-bypass-toggle');
		await p.page.waitForFunction(() => document.querySelector('[data-block=bypass] .jm-bypass-toggle')?.disabled === true);
		assert.equal(await toggle.isDisabled(), true);
		assert.equal((await api('bypass')).state, 'off');
		clean(p);
		await p.close();
	});
});
