// Logging in on the standalone page exactly as LuCI does: user + password → `session login`
// over uhttpd's /ubus (JSON-RPC) → the real rpcd; "Log out" → `session destroy`. Sessions are
// real rpcd sessions, so a destroyed one is refused by the CGI afterwards.

import {describe, it, before, after} from 'node:test';
import assert from 'node:assert/strict';
import {env, launch, openPage, loginUrl, login, ubus} from '../lib/harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function apiStatus(action, sid) {
	const base = env.url.replace(/\/luci-static\/.*$/, '');
	const res = await fetch(base + '/cgi-bin/jammonitor/api/' + action, {headers: {Authorization: 'Bearer ' + sid}});
	return {status: res.status, json: await res.json()};
}

describe('login', () => {
	it('the form logs in through /ubus, the dashboard runs on that session, log out destroys it', async () => {
		const p = await openPage(browser);
		const {page} = p;
		const logins = [];
		page.on('request', r => { if (r.url().endsWith('/ubus')) logins.push(JSON.parse(r.postData() || '{}')); });
		await page.goto(loginUrl());
		await page.locator('form.jm-login').waitFor();
		await page.fill('input[name=username]', env.user);
		await page.fill('input[name=password]', env.pass);
		await page.click('form.jm-login button[type=submit]');
		await page.locator('.jm-card[data-wan]').first().waitFor();
		// exactly LuCI's call: the null session asks session.login
		assert.equal(logins.length, 1);
		assert.deepEqual(logins[0].params.slice(0, 3), ['00000000000000000000000000000000', 'session', 'login']);
		assert.equal(logins[0].params[3].username, env.user);
		const sid = await page.evaluate(() => sessionStorage.getItem('jammonitor.sid'));
		assert.match(sid, /^[0-9a-f]{32}$/);
		assert.equal((await apiStatus('session', sid)).json.data.write, true);

		await page.click('button.jm-logout');
		await page.locator('form.jm-login').waitFor();
		const after = await apiStatus('overview', sid);
		assert.equal(after.status, 403);
		assert.equal(after.json.error.code, 'auth_denied', 'a destroyed session is refused');
		assert.deepEqual(p.problems, []);
		await p.close();
	});

	it('a wrong password is refused with a message and no session', async () => {
		const p = await openPage(browser);
		const {page} = p;
		await page.goto(loginUrl());
		await page.fill('input[name=username]', env.user);
		await page.fill('input[name=password]', 'not-the-password');
		await page.click('form.jm-login button[type=submit]');
		await page.locator('.jm-login-msg').filter({hasText: /wrong/i}).waitFor();
		assert.equal(await page.evaluate(() => sessionStorage.getItem('jammonitor.sid')), null);
		assert.deepEqual(p.problems, []);
		await p.close();
	});

	it('a read-only login (via /ubus) sees the dashboard, its writes are refused', async () => {
		const sid = await login(env.userRo, env.passRo);
		const s = await apiStatus('session', sid);
		assert.deepEqual(s.json.data, {read: true, write: false});
		const base = env.url.replace(/\/luci-static\/.*$/, '');
		const res = await fetch(base + '/cgi-bin/jammonitor/api/wan.managed', {
			method: 'POST', headers: {Authorization: 'Bearer ' + sid, 'Content-Type': 'application/json'},
			body: JSON.stringify({wans: ['wan1']}),
		});
		assert.equal(res.status, 403);
		assert.equal((await res.json()).error.code, 'auth_readonly');
		// the null session may log in but not destroy sessions (rpcd's unauthenticated ACL)
		const r = await ubus('00000000000000000000000000000000', 'session', 'destroy', {});
		assert.equal(r.error?.code, -32002, JSON.stringify(r));
		assert.equal((await apiStatus('session', sid)).status, 200);
	});
});
