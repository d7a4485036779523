// Browser tests of Settings → Update against the real server. The rig's root has no package
// manager database, so the first test reads the real `update` answer (not installed: no install
// button, version from the build). The flow tests then rewrite `update`, `update.*` and `job`
// answers in the browser (page.route) to drive the page through a check, a refusal (with its
// reason, and the explicit downgrade confirmation), and a successful install that reloads the
// page. What the server does for each of those is tested for real in tests/update.rs.

import {describe, it, before, after} from 'node:test';
import assert from 'node:assert/strict';
import {env, appUrl, launch, openPage, api} from '../lib/harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

function clean(p) {
	assert.deepEqual(p.problems, [], 'console errors, page errors or failed requests:\n' + p.problems.join('\n'));
}

const INSTALLED = {
	installed: {version: '0.1.0-1', format: 'ipk', arch: 'aarch64_cortex-a53'},
	build: {version: '0.1.0', id: null},
	settings: {url: 'https://updates.example/rel', channel: 'stable', auto_check: true},
	last_check: {checked_at: 1764064800, ok: true, error: null, latest: '0.2.0-1', available: true, by: 'collector'},
	available: true,
	kept: {current: null, previous: '0.0.9-1'},
	keys: ['4e4b3134896af9ef'],
};

const ok = data => ({status: 200, contentType: 'application/json', body: JSON.stringify({ok: true, data})});
const jobFile = (over) => ({id: 'update-1764064800-0a1b2c3d', kind: 'update', state: 'running', phase: 'download', pct: 30,
	message: 'downloading jammonitor', detail: null, result: null, error: null, started_at: 1, updated_at: 1,
	deadline_at: 600, finished_at: null, pid: 1, ...over});

// Routes the update actions: `update` answers `state.update`, posts are recorded, `job`
// answers the queue `state.jobs` (the last one repeats).
async function fake(page, state) {
	state.posts = [];
	await page.route('**/api/update', r => r.fulfill(ok(state.update)));
	await page.route(/\/api\/update\.(check|install|rollback)$/, r => {
		state.posts.push({action: r.request().url().replace(/.*\/api\//, ''), body: JSON.parse(r.request().postData() || '{}')});
		return r.fulfill({...ok({job: jobFile({}), poll: 'job?id=update-1764064800-0a1b2c3d'}), status: 202});
	});
	await page.route('**/api/job?*', r => r.fulfill(ok(state.jobs.length > 1 ? state.jobs.shift() : state.jobs[0])));
}

describe('Settings: update', () => {
	it('shows the real answer of a router where a package manager did not install JamMonitor', async () => {
		const p = await openPage(browser);
		const {page} = p;
		const answered = page.waitForResponse(r => /\/api\/update$/.test(r.url()));
		await page.goto(appUrl(env.sid, 'tab=settings'));
		const d = (await (await answered).json()).data;
		const direct = await api('update');
		assert.deepEqual(d.settings, direct.settings);
		assert.equal(d.installed, null, 'the rig root has no opkg/apk database');
		const info = page.locator('.jm-update-info');
		await info.locator('dl').waitFor();
		const text = await info.innerText();
		assert.ok(text.includes(d.build.version), 'version from the build');
		assert.ok(text.includes(d.settings.channel), 'channel');
		assert.ok(await page.locator('[data-action=update-install]').isHidden(), 'no install button without a package manager');
		assert.ok(await page.locator('[data-action=update-rollback]').isHidden());
		assert.ok(await page.locator('.jm-tab[data-tab=settings] .jm-update-dot').isHidden(), 'no badge');
		clean(p);
		await p.close();
	});

	it('badges the gear, checks, refuses with the reason, asks before a downgrade, and reloads after an install', async () => {
		const p = await openPage(browser);
		const {page} = p;
		const state = {update: INSTALLED, jobs: []};
		await fake(page, state);
		await page.goto(appUrl(env.sid, 'tab=overview'));
		// the badge comes from GET update (the last daily check), without opening Settings
		await page.locator('.jm-tab[data-tab=settings] .jm-update-dot').waitFor();
		assert.ok(await page.locator('.jm-tab[data-tab=settings]').evaluate(b => b.classList.contains('jm-has-update')));

		await page.locator('.jm-tab[data-tab=settings]').click();
		const info = page.locator('.jm-update-info');
		await info.locator('dl').waitFor();
		const text = await info.innerText();
		for (const s of ['0.1.0-1', 'opkg (.ipk)', 'aarch64_cortex-a53', 'stable', '0.2.0-1 available', '0.0.9-1'])
			assert.ok(text.includes(s), `shows ${s}: ${text}`);
		const install = page.locator('[data-action=update-install]');
		assert.equal((await install.innerText()).trim(), 'Install 0.2.0-1');
		assert.equal((await page.locator('[data-action=update-rollback]').innerText()).trim(), 'Roll back to 0.0.9-1');

		// a refused install shows why, installs nothing, offers nothing more
		state.jobs = [jobFile({}), jobFile({state: 'failed', error: 'bad checksum: jammonitor has sha256 00…, the signed index says 11…'})];
		await install.click();
		await page.locator('.jm-update-msg', {hasText: 'Refused: bad checksum'}).waitFor();
		assert.deepEqual(state.posts.at(-1), {action: 'update.install', body: {}});
		assert.ok(await page.locator('[data-action=update-downgrade]').isHidden());

		// an older release: refused until confirmed, then posted with allow_downgrade
		state.jobs = [jobFile({state: 'failed', error: 'downgrade: release 0.0.9-1 is older than the installed 0.1.0-1; confirm the downgrade to install it'})];
		await install.click();
		const again = page.locator('[data-action=update-downgrade]');
		await again.waitFor();
		page.once('dialog', d => d.dismiss());
		await again.click();
		assert.equal(state.posts.at(-1).body.allow_downgrade, undefined, 'dismissed: nothing posted');
		state.jobs = [jobFile({state: 'failed', error: 'download of https://updates.example/rel/stable.json failed (exit 6)'})];
		page.once('dialog', d => d.accept());
		await again.click();
		await page.locator('.jm-update-msg', {hasText: 'Refused: download of'}).waitFor();
		assert.deepEqual(state.posts.at(-1), {action: 'update.install', body: {allow_downgrade: true}});

		// check now
		state.update = {...INSTALLED, available: false, last_check: {...INSTALLED.last_check, available: false, latest: '0.1.0-1', by: 'user'}};
		state.jobs = [jobFile({state: 'done', phase: 'done', pct: 100, result: {ok: true, latest: '0.1.0-1'}})];
		await page.locator('[data-action=update-check]').click();
		await page.locator('.jm-update-info', {hasText: 'Up to date (0.1.0-1)'}).waitFor();
		assert.equal(state.posts.at(-1).action, 'update.check');
		await page.locator('.jm-tab[data-tab=settings] .jm-update-dot').waitFor({state: 'hidden'});
		assert.ok(await install.isHidden(), 'nothing to install');

		// a good install: progress, then the page reloads into the new version
		state.update = INSTALLED;
		await page.reload();
		await page.locator('[data-action=update-install]').waitFor();
		state.jobs = [jobFile({}), jobFile({state: 'done', phase: 'done', pct: 100,
			result: {version: '0.2.0-1', previous: '0.1.0-1', format: 'ipk', reload: true}})];
		const reloaded = page.waitForEvent('load', {timeout: 15000});
		await page.locator('[data-action=update-install]').click();
		await page.locator('.jm-update-msg', {hasText: 'Installed 0.2.0-1. Reloading…'}).waitFor();
		state.update = {...INSTALLED, installed: {...INSTALLED.installed, version: '0.2.0-1'}, available: false,
			last_check: {...INSTALLED.last_check, available: false}, kept: {current: '0.2.0-1', previous: null}};
		await reloaded;
		await page.locator('.jm-update-info', {hasText: '0.2.0-1'}).waitFor();
		assert.ok(await page.locator('[data-action=update-rollback]').isHidden(), 'nothing kept yet');
		clean(p);
		await p.close();
	});

	it('a read-only session cannot start an update: the server refuses and the page says so', async () => {
		const p = await openPage(browser, {allowStatus: [403], allowConsole: [/status of 403/]});
		const {page} = p;
		await page.route('**/api/update', r => r.fulfill(ok(INSTALLED)));
		await page.goto(appUrl(env.sidRo, 'tab=settings'));
		await page.locator('.jm-update-info dl').waitFor();
		const refused = page.waitForResponse(r => /\/api\/update\.check$/.test(r.url()));
		await page.locator('[data-action=update-check]').click();
		assert.equal((await refused).status(), 403);
		// errors.js: the sentence for the server's code (auth_readonly), its own text as the detail
		await page.locator('.jm-update-msg', {hasText: 'This session may only read'}).waitFor();
		clean(p);
		await p.close();
	});
});
