// JamMonitor inside real LuCI (tests/bed/luci-root.sh installs luci-base and the themes into the
// live root; uhttpd serves /cgi-bin/luci with LuCI's ucode handler): log in as a user would, open
// Status → JamMonitor, and check our view under bootstrap (light and dark), material and
// openwrt-2020 — card titles readable (contrast ≥ 4.5:1 against what is really behind them),
// nothing of ours sticky or covering LuCI's header when scrolled, no value narrower than its
// longest word, no text outside its box — with a screenshot of every tab in docs/screenshots/luci/.
// Then LuCI's own language: with LuCI in German, our view is German from LuCI's catalogue
// (our .po compiled to jammonitor.de.lmo), without fetching our own catalogue.
//
// Run: `make test-luci` (part of `make test`), or JM_LUCI=1 tests/browser/run.sh luci/ (serve.sh
// --luci; `make luci` builds what it needs).
//
// It once stalled for a minute now and then, more often under load: LuCI's requests were not
// waiting for uhttpd's three script slots but for each other. LuCI's dispatcher opens its ubus
// connection when uhttpd loads it, once, so every LuCI request process shared one socket and lost
// its replies to the others running at the same time (tests/bed/luci-root.sh explains and fixes
// it in the bed). The first test below checks concurrent LuCI requests answer; the rest log in as
// a user would, on our page itself (no page loaded in between and cut off), with no retry: a stall
// fails the test.

import {describe, it, before, after} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {launch, openPage, sh, SCREENSHOTS, REPO} from '../lib/harness.mjs';

const SHOTS = path.join(SCREENSHOTS, 'luci');
const TABS = ['overview', 'wan-policy', 'interfaces', 'clients', 'wifi', 'bandwidth', 'diagnostics', 'settings'];
const THEMES = [['bootstrap', 'light'], ['bootstrap', 'dark'], ['material', 'light'], ['openwrt2020', 'light']];

const need = n => { const v = process.env[n]; if (!v) throw new Error(`${n} unset: run tests/browser/run.sh (serve.sh --luci)`); return v; };
const LUCI = () => need('JM_LUCI_URL');
const ROOT = () => need('JM_ROOT');
const luciRoot = (...args) => sh(path.join(REPO, 'tests/bed/luci-root.sh'), [args[0], ROOT(), ...args.slice(1)]);

let browser;
before(async () => { browser = await launch(); fs.mkdirSync(SHOTS, {recursive: true}); });
after(async () => {
	try { luciRoot('theme', 'bootstrap'); luciRoot('lang', 'auto'); } finally { await browser?.close(); }
});

// How long a LuCI page may take on this shared, loaded test machine (it takes 1-3 s; a stall on a
// script slot or a lost ubus reply takes 30-60 s, so this fails it instead of waiting it out).
const PAGE_MS = 25000;

// Logs in through LuCI's own form on Status → JamMonitor itself (LuCI answers the page with its
// login form, the form posts back to the page, and LuCI redirects there with the session cookie).
async function openInLuci({dark = false, width = 1280} = {}) {
	const p = await openPage(browser, {width, height: 900, allowStatus: [403]}); // the login form answers 403
	const {page} = p;
	page.setDefaultTimeout(PAGE_MS);
	await page.emulateMedia({colorScheme: dark ? 'dark' : 'light'});
	await page.goto(LUCI() + '/cgi-bin/luci/admin/status/jammonitor', {waitUntil: 'domcontentloaded'});
	await page.locator('input[name=luci_username]').fill(need('JM_LUCI_USER'));
	await page.locator('input[name=luci_password]').fill(need('JM_LUCI_PASSWORD'));
	await Promise.all([page.waitForNavigation({waitUntil: 'domcontentloaded'}), page.locator('input[name=luci_password]').press('Enter')]);
	assert.match(page.url(), /\/cgi-bin\/luci\/admin\/status\/jammonitor$/);
	p.problems.length = 0; // what the login page left unfinished is LuCI's; from here on, ours
	await page.locator('.jm-app .jm-panel > [data-panel]:not([hidden])').waitFor();
	return p;
}

// A LuCI session cookie for requests made outside the browser (LuCI's own login, as the form does it).
async function luciCookie() {
	const res = await fetch(LUCI() + '/cgi-bin/luci/', {
		method: 'POST', redirect: 'manual', signal: AbortSignal.timeout(PAGE_MS),
		headers: {'Content-Type': 'application/x-www-form-urlencoded'},
		body: new URLSearchParams({luci_username: need('JM_LUCI_USER'), luci_password: need('JM_LUCI_PASSWORD')}),
	});
	const m = /sysauth_http=([0-9a-f]{32})/.exec(res.headers.get('set-cookie') || '');
	assert.ok(m, `LuCI login answered ${res.status} without a session cookie`);
	return `sysauth_http=${m[1]}`;
}

async function settle(page) {
	await page.waitForFunction(() => {
		const panel = document.querySelector('.jm-panel > [data-panel]:not([hidden])');
		return panel && panel.innerText.trim().length > 0;
	});
	await page.waitForTimeout(1500);
}

// Everything the Must-show asks of one tab, measured in the page.
function checks(page) {
	return page.evaluate(() => {
		const out = [];
		const rgba = s => { const m = s.match(/[\d.]+/g) || []; return m.map(Number).concat(m.length === 3 ? [1] : []); };
		const lum = ([r, g, b]) => {
			const f = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
			return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
		};
		const over = (top, under) => { const a = top[3]; return [0, 1, 2].map(i => top[i] * a + under[i] * (1 - a)).concat([1]); };
		// What is really behind an element: its ancestors' backgrounds blended, down to the page.
		const behind = el => {
			const layers = [];
			for (let e = el; e; e = e.parentElement) {
				const bg = rgba(getComputedStyle(e).backgroundColor);
				if (bg[3] > 0) layers.push(bg);
				if (bg[3] >= 1) break;
			}
			let c = [255, 255, 255, 1];
			for (const l of layers.reverse()) c = over(l, c);
			return c;
		};
		const contrast = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((m, n) => n - m); return (x + 0.05) / (y + 0.05); };
		const root = document.querySelector('.jm-app');
		for (const h of root.querySelectorAll('.jm-block h3, .jm-tab-head h3, .jm-card-title, .jm-zone-head h4')) {
			if (!h.offsetParent) continue;
			const fg = over(rgba(getComputedStyle(h).color), behind(h));
			const c = contrast(fg, behind(h));
			if (c < 4.5) out.push(`title "${h.innerText.trim()}" contrast ${c.toFixed(2)}:1`);
		}
		for (const el of root.querySelectorAll('*')) {
			const pos = getComputedStyle(el).position;
			if ((pos === 'sticky' || pos === 'fixed') && !el.closest('dialog')) out.push(`${pos}: <${el.tagName.toLowerCase()} class="${el.className}">`);
		}
		// No value narrower than its longest word.
		const ctx = document.createElement('canvas').getContext('2d');
		for (const dd of root.querySelectorAll('.jm-dl dd')) {
			if (!dd.offsetParent) continue;
			ctx.font = getComputedStyle(dd).font;
			const words = dd.innerText.split(/\s+/).filter(Boolean);
			const longest = Math.max(0, ...words.map(w => ctx.measureText(w).width));
			if (dd.clientWidth + 1 < longest) out.push(`value "${dd.innerText.trim().slice(0, 40)}" is ${dd.clientWidth}px, its longest word ${Math.ceil(longest)}px`);
		}
		// No text outside its box.
		for (const el of root.querySelectorAll('*')) {
			if (!el.offsetParent || el.closest('.uplot, .jm-table-wrap, .jm-nav, select, .jm-sr-only')) continue;
			const cs = getComputedStyle(el);
			if (cs.display === 'inline' || cs.display === 'contents') continue;
			if (el.scrollWidth > el.clientWidth + 2 && cs.overflowX === 'visible' && (el.innerText || '').trim())
				out.push(`overflows: <${el.tagName.toLowerCase()} class="${el.className}"> ${el.innerText.trim().slice(0, 40)}`);
		}
		return out;
	});
}

// After scrolling, LuCI's header (sticky in bootstrap) must not have anything of ours drawn over it.
function headerCovered(page) {
	return page.evaluate(() => {
		window.scrollTo(0, 600);
		const header = document.querySelector('body > header, header.bg-primary, #header, body > .main > header') || document.querySelector('header');
		if (!header) return [];
		const r = header.getBoundingClientRect();
		if (r.bottom <= 0) return [];
		const out = [];
		for (const x of [r.left + 10, (r.left + r.right) / 2, r.right - 10]) {
			const el = document.elementFromPoint(x, Math.max(0, r.top) + Math.min(r.height, 40) / 2);
			if (el && el.closest('.jm-app')) out.push(`ours on top of LuCI's header at x=${Math.round(x)}: ${el.className}`);
		}
		window.scrollTo(0, 0);
		return out;
	});
}

describe('inside real LuCI', () => {
	// What a LuCI page does as it loads (the page, its translations, its menu: several LuCI request
	// processes at once, up to uhttpd's -n 3). Each answers in seconds, none waits for another.
	it('LuCI requests made at the same time all answer, in seconds', async () => {
		const cookie = await luciCookie();
		const slow = [];
		for (let round = 0; round < 5; round++) {
			await Promise.all([0, 1, 2].map(async i => {
				const t0 = Date.now();
				let status;
				try {
					const res = await fetch(`${LUCI()}/cgi-bin/luci/admin/menu?r=${round}-${i}`, {headers: {Cookie: cookie}, signal: AbortSignal.timeout(20000)});
					status = res.status;
					await res.text();
				} catch (e) {
					status = e.name;
				}
				const ms = Date.now() - t0;
				if (status !== 200 || ms > 15000) slow.push(`round ${round} request ${i}: ${status} after ${ms} ms`);
			}));
		}
		assert.deepEqual(slow, []);
	});

	for (const [theme, mode] of THEMES) {
		it(`${theme} ${mode}: every tab readable, not sticky, values wide enough, screenshots`, async () => {
			luciRoot('theme', theme);
			const p = await openInLuci({dark: mode === 'dark'});
			const {page} = p;
			assert.equal(await page.evaluate(() => document.querySelectorAll('.jm-app header').length), 0, 'no <header> of ours');
			const problems = [];
			for (const tab of TABS) {
				await page.locator(`.jm-tab[data-tab="${tab}"]`).click();
				await settle(page);
				for (const x of await checks(page)) problems.push(`${tab}: ${x}`);
				for (const x of await headerCovered(page)) problems.push(`${tab}: ${x}`);
				await page.screenshot({path: path.join(SHOTS, `${theme}-${mode}-${tab}.png`), fullPage: true});
			}
			assert.deepEqual(problems, []);
			// none of our requests failed, none of our modules threw, and no request (LuCI's included) answered 5xx
			assert.deepEqual(p.problems.filter(x => /jammonitor|HTTP 5\d\d/.test(x)), []);
			await p.close();
		});
	}

	// LuCI's language: German, and Simplified Chinese (po/zh_Hans → jammonitor.zh-cn.lmo, luci.mk's
	// name, which LuCI loads for its language zh_cn): our strings come from LuCI's catalogue.
	for (const [folder, lang, wanPolicy] of [['de', 'de', 'WAN-Richtlinie'], ['zh_Hans', 'zh-Hans', 'WAN 策略']]) {
		it(`with LuCI in ${folder}, our view is translated from LuCI's own catalogue (no request for ours)`, async () => {
			luciRoot('lang', folder);
			try {
				const p = await openInLuci();
				const {page} = p;
				await page.locator(`.jm-app[lang="${lang}"]`).waitFor();
				assert.equal(await page.locator('.jm-tab[data-tab="wan-policy"]').innerText(), wanPolicy);
				assert.equal(await page.evaluate(() => typeof window.TR === 'object' && Object.keys(window.TR).length > 100), true, 'LuCI loaded a catalogue');
				assert.deepEqual(p.requests.filter(r => /\/jammonitor\/i18n\//.test(r.url)).map(r => r.url), [], 'our JSON catalogue is not fetched');
				await p.close();
			} finally {
				luciRoot('lang', 'auto');
			}
		});
	}

});
