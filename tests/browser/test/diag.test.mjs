// Browser tests of Diagnostics → diagnostic bundle against the real server and the simulated
// router (issue 15): the page builds a bundle, shows every section's status and the size, and
// the download (a POST with the Bearer header, saved from a Blob) gives the gzip tar whose files
// are the sections the page listed, each naming its source (or saying it is missing).

import {describe, it, before, after} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import {env, appUrl, launch, openPage, api, SCREENSHOTS} from '../lib/harness.mjs';

let browser;
let pingLink = null;
before(async () => {
	browser = await launch();
	// Let the connectivity section ping for real: the live root gets the host's ping (the CGI runs
	// in jm-router, whose routes lead only into rig namespaces).
	const root = process.env.JM_ROOT;
	const host = ['/usr/bin/ping', '/bin/ping'].find(p => fs.existsSync(p));
	if (root && host && !fs.existsSync(path.join(root, 'bin/ping'))) {
		pingLink = path.join(root, 'bin/ping');
		fs.mkdirSync(path.dirname(pingLink), {recursive: true});
		fs.symlinkSync(host, pingLink);
	}
});
after(async () => {
	await browser?.close();
	if (pingLink) fs.rmSync(pingLink, {force: true});
});

function clean(p) {
	assert.deepEqual(p.problems, [], 'console errors, page errors or failed requests:\n' + p.problems.join('\n'));
}

// The members of a gzip'd ustar archive: [{name, text}].
function untar(gz) {
	const buf = zlib.gunzipSync(gz);
	const out = [];
	for (let off = 0; off + 512 <= buf.length;) {
		const head = buf.subarray(off, off + 512);
		if (head.every(b => b === 0)) break;
		const str = (a, b) => head.subarray(a, b).toString('latin1').replace(/\0.*$/s, '');
		const prefix = str(345, 500);
		const name = (prefix ? prefix + '/' : '') + str(0, 100);
		const size = parseInt(str(124, 136).trim() || '0', 8);
		off += 512;
		out.push({name, text: buf.subarray(off, off + size).toString('utf8')});
		off += Math.ceil(size / 512) * 512;
	}
	return out;
}

describe('Diagnostics: diagnostic bundle', () => {
	it('builds a bundle from the router, shows size and sections, and downloads it from the page', async () => {
		const p = await openPage(browser);
		const {page} = p;
		await page.goto(appUrl(env.sid, 'tab=diagnostics'));
		const rows = page.locator('.jm-bundle tr[data-file]');
		await rows.first().waitFor();
		const listed = (await api('diag')).sections.map(s => s.file);
		assert.equal(await rows.count(), listed.length);
		assert.equal(listed.length, 19);
		assert.ok(await page.locator('.jm-bundle details.jm-bundle-removed summary').isVisible(), 'the "what is removed" note');

		const started = page.waitForResponse(r => r.url().includes('/api/diag.bundle'));
		await page.locator('.jm-bundle [data-action="bundle-start"]').click();
		const id = (await (await started).json()).data.job.id;
		// progress per section while it runs, then the size when done (of this job, not an older one)
		await page.locator(`.jm-bundle-progress[data-job="${id}"][data-state="done"] .jm-bundle-size`).waitFor({timeout: 90000});
		const d = await api('diag');
		const job = d.job;
		assert.equal(job.id, id);
		assert.equal(job.state, 'done', JSON.stringify(job));
		assert.equal(job.available, true);
		const res = job.result;
		assert.equal(await page.locator('.jm-bundle-size').getAttribute('data-bytes'), String(res.size_bytes));
		const shown = await page.locator('.jm-bundle-size').innerText();
		const want = await page.evaluate(async n => (await import('./format.js')).bytes(n), res.size_bytes);
		assert.equal(shown.trim(), want);
		// every section with its status, as the job reports it
		for (const s of res.sections) {
			const row = page.locator(`.jm-bundle tr[data-file="${s.file}"]`);
			assert.equal(await row.getAttribute('data-status'), s.status, s.file);
			assert.ok(['ok', 'partial', 'missing', 'failed'].includes(s.status), `${s.file}: ${s.status}`);
		}
		await page.locator('.jm-bundle').screenshot({path: path.join(SCREENSHOTS, 'diagnostics-bundle.png')});

		// the download: a POST with the header, saved from a Blob
		const downloading = page.waitForEvent('download');
		await page.locator('.jm-bundle [data-action="bundle-download"]').click();
		const dl = await downloading;
		assert.equal(dl.suggestedFilename(), res.file);
		assert.match(res.file, /^jammonitor-diag-.*\.tar\.gz$/);
		const bytes = fs.readFileSync(await dl.path());
		assert.equal(bytes.length, res.size_bytes);
		const files = untar(bytes);
		const names = files.map(f => f.name.split('/').pop());
		for (const f of [...listed, '00_manifest.txt']) assert.ok(names.includes(f), `${f} missing from ${names}`);
		for (const f of files) {
			assert.match(f.text, /^# source: /, f.name);
			const s = res.sections.find(x => f.name.endsWith(x.file));
			if (s && s.status !== 'ok') assert.match(f.text, /: (missing|failed) \(/, `${f.name} is ${s.status} without saying why`);
			assert.ok(!f.text.includes('Vps-Secret-Key-7f3a9c1e5b2d4f60'), `${f.name} leaks the VPS key`);
		}
		// from the simulated router: MPTCP endpoints, its routes, the tracker's WANs
		const text = n => files.find(f => f.name.endsWith(n)).text;
		assert.match(text('05_mptcp.txt'), /10\.1\.1\.2 id \d+ subflow fullmesh dev lan1/);
		assert.match(text('04_routes.txt'), /default via 10\.1\.1\.1 dev lan1/);
		assert.match(text('08_tracker.txt'), /^wan1 +up +master/m);
		if (pingLink) assert.match(text('17_connectivity.txt'), /wan1 gateway +reachable/);
		assert.match(text('07_omr_config.txt'), /option password '<redacted>'/);

		// the router's copy is gone; the page says so and offers no second download
		await page.locator('.jm-bundle .jm-msg[data-kind="ok"]').waitFor();
		assert.equal(await page.locator('.jm-bundle [data-action="bundle-download"]').count(), 0);
		assert.equal((await api('diag')).job.available, false);
		// the session id never travelled in a URL
		for (const r of p.requests.filter(r => r.url.includes('/cgi-bin/'))) assert.ok(!r.url.includes(env.sid), r.url);
		clean(p);
		await p.close();
	});

	it('a read-only session sees the sections but cannot build a bundle', async () => {
		const p = await openPage(browser);
		await p.page.goto(appUrl(env.sidRo, 'tab=diagnostics'));
		await p.page.locator('.jm-bundle tr[data-file]').first().waitFor();
		const start = p.page.locator('.jm-bundle [data-action="bundle-start"]');
		await p.page.waitForFunction(() => document.querySelector('.jm-bundle [data-action="bundle-start"]')?.disabled === true);
		assert.equal(await start.isDisabled(), true);
		clean(p);
		await p.close();
	});
});
