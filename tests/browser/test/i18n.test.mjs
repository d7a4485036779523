// Languages, layout and accessibility of every tab: en, de, ar (right to left) and ja, at desktop
// width and on a 375 px phone, with screenshots in docs/screenshots/i18n/. Each view must keep
// the page from scrolling sideways, keep every text inside its box, give touch targets 40 px on
// the phone, translate the tab names, and pass axe-core without a serious or critical violation
// in light and dark. A keyboard-only walk (Tab, Space, a digit, Enter) changes a WAN role.

import {describe, it, before, after} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {createRequire} from 'node:module';
import {env, appUrl, launch, openPage, sh, api, SCREENSHOTS, REPO} from '../lib/harness.mjs';

const require = createRequire(import.meta.url);
const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const SHOTS = path.join(SCREENSHOTS, 'i18n');
const TABS = ['overview', 'wan-policy', 'interfaces', 'clients', 'wifi', 'bandwidth', 'diagnostics', 'settings'];
const LANGS = ['en', 'de', 'ar', 'ja'];
const WIDTHS = [1280, 375];
const ENGLISH_TABS = ['Overview', 'WAN Policy', 'Interfaces', 'Bandwidth', 'Diagnostics', 'Settings'];

let browser;
before(async () => { browser = await launch(); fs.mkdirSync(SHOTS, {recursive: true}); });
after(async () => { await browser?.close(); });

// A page in `lang` (the stored choice, as Settings stores it), on `tab`.
async function openIn(lang, {width = 1280, dark = false, tab = 'overview'} = {}) {
	const p = await openPage(browser, {width, height: width < 600 ? 812 : 900});
	if (dark) await p.page.emulateMedia({colorScheme: 'dark'});
	await p.page.addInitScript(l => localStorage.setItem('jammonitor.lang', l), lang);
	await p.page.goto(appUrl(env.sid, 'tab=' + tab));
	await p.page.locator(`.jm-app[lang="${lang}"] .jm-panel > [data-panel]:not([hidden])`).waitFor();
	return p;
}

// Waits until the visible panel has content from the server (or its empty state), not "Loading…".
async function settle(page) {
	await page.waitForFunction(() => {
		const panel = document.querySelector('.jm-panel > [data-panel]:not([hidden])');
		return panel && panel.innerText.trim().length > 0;
	});
	await page.waitForTimeout(1500); // one poll answer, charts sized
}

// Texts wider than their box, and the page's sideways scroll. A box that scrolls by design
// (tables, the tab strip) may hold wide content; nothing else may.
function layoutProblems(page) {
	return page.evaluate(() => {
		const out = [];
		const doc = document.documentElement;
		if (doc.scrollWidth > window.innerWidth + 1) out.push(`page scrolls sideways: ${doc.scrollWidth} > ${window.innerWidth}`);
		const root = document.querySelector('.jm-app');
		const scrolls = el => {
			for (let e = el; e && e !== root; e = e.parentElement) {
				const o = getComputedStyle(e).overflowX;
				if (o === 'auto' || o === 'scroll' || o === 'hidden') return true;
			}
			return false;
		};
		for (const el of root.querySelectorAll('*')) {
			if (!el.offsetParent || el.closest('.uplot, canvas, svg, .jm-sr-only, select, option')) continue;
			const cs = getComputedStyle(el);
			if (cs.display === 'inline' || cs.display === 'contents') continue;
			if (el.scrollWidth > el.clientWidth + 2 && cs.overflowX === 'visible' && !scrolls(el.parentElement)) {
				const t = (el.innerText || '').trim().slice(0, 60);
				if (t) out.push(`overflows its box (${el.scrollWidth} > ${el.clientWidth}): <${el.tagName.toLowerCase()} class="${el.className}"> ${t}`);
			}
		}
		return out;
	});
}

// Touch targets under 40 px on a phone (inline text links excepted, as WCAG does).
function smallTargets(page) {
	return page.evaluate(() => {
		const out = [];
		for (const el of document.querySelectorAll('.jm-app :is(button, select, input:not([type=hidden]), [role=button], [tabindex="0"])')) {
			if (!el.offsetParent || el.closest('[hidden], .jm-dialog:not([open])') || el.classList.contains('jm-link')) continue;
			const r = el.getBoundingClientRect();
			if (r.width === 0 || r.height === 0) continue;
			if (Math.min(r.width, r.height) < 40 && !(el.type === 'checkbox' || el.type === 'radio')) out.push(`${el.tagName.toLowerCase()}.${el.className} "${(el.innerText || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 30)}" ${Math.round(r.width)}×${Math.round(r.height)}`);
		}
		return out;
	});
}

async function axe(page) {
	await page.addScriptTag({content: AXE});
	const res = await page.evaluate(() => window.axe.run('.jm-app', {resultTypes: ['violations']}));
	return res.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
		.map(v => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | ')}`);
}

describe('languages', () => {
	for (const lang of LANGS) {
		for (const width of WIDTHS) {
			it(`${lang} at ${width} px: every tab translated, laid out inside the screen, screenshots`, async () => {
				const p = await openIn(lang, {width});
				const {page} = p;
				const root = page.locator('.jm-app');
				assert.equal(await root.getAttribute('dir'), lang === 'ar' ? 'rtl' : 'ltr');
				const tabNames = await page.locator('.jm-nav .jm-tab').allInnerTexts();
				if (lang !== 'en') {
					for (const en of ENGLISH_TABS) assert.ok(!tabNames.includes(en), `${lang}: tab "${en}" is translated (${tabNames.join(', ')})`);
				}
				const problems = [];
				for (const tab of TABS) {
					await page.locator(`.jm-tab[data-tab="${tab}"]`).click();
					await settle(page);
					for (const x of await layoutProblems(page)) problems.push(`${tab}: ${x}`);
					if (width < 600) for (const x of await smallTargets(page)) problems.push(`${tab}: touch target ${x}`);
					await page.screenshot({path: path.join(SHOTS, `${lang}-${width}-${tab}.png`), fullPage: true});
				}
				assert.deepEqual(problems, []);
				assert.deepEqual(p.problems, []);
				await p.close();
			});
		}
	}

	it('Settings switches the language at once, without reloading the page, and keeps it', async () => {
		const p = await openIn('en', {tab: 'settings'});
		const {page} = p;
		await page.evaluate(() => { window.__noReload = true; });
		await page.locator('#jm-lang').selectOption('de');
		await page.locator('.jm-app[lang="de"]').waitFor();
		assert.equal(await page.evaluate(() => window.__noReload), true, 'same document: no reload');
		assert.equal(await page.locator('.jm-tab[data-tab="overview"]').innerText(), 'Übersicht');
		assert.equal(await page.evaluate(() => localStorage.getItem('jammonitor.lang')), 'de');
		await page.locator('#jm-lang').selectOption('auto');
		await page.locator('.jm-app[lang="en"]').waitFor();
		assert.equal(await page.evaluate(() => localStorage.getItem('jammonitor.lang')), null);
		assert.deepEqual(p.problems, []);
		await p.close();
	});

	it('numbers, units and times follow the language (Intl)', async () => {
		const p = await openIn('de', {tab: 'overview'});
		const {page} = p;
		const out = await page.evaluate(async () => {
			const f = await import('./format.js');
			return {bytes: f.bytes(1536), pct: f.pct(12.5), age: f.age(30), ms: f.ms(12.34)};
		});
		assert.equal(out.bytes, '1,5 KiB');
		assert.match(out.pct, /^12,5\s%$/);
		assert.match(out.age, /vor 30 Sek/);
		assert.match(out.ms, /^12\sms$/);
		await p.close();
	});
});

describe('accessibility (axe-core)', () => {
	for (const dark of [false, true]) {
		it(`no serious or critical violation on any tab, ${dark ? 'dark' : 'light'}`, async () => {
			const p = await openIn('en', {dark});
			const {page} = p;
			const problems = [];
			for (const tab of TABS) {
				await page.locator(`.jm-tab[data-tab="${tab}"]`).click();
				await settle(page);
				for (const v of await axe(page)) problems.push(`${tab}: ${v}`);
			}
			assert.deepEqual(problems, []);
			await p.close();
		});
	}
});

describe('keyboard only', () => {
	const ROOT = () => process.env.JM_ROOT;
	const uci = key => {
		try {
			return sh(path.join(REPO, 'build/uci/bin/uci'), ['-c', path.join(ROOT(), 'etc/config'), '-t', path.join(ROOT(), 'tmp/.uci'), 'get', key]).trim();
		} catch { return null; }
	};
	async function roles(body) {
		const base = env.url.replace(/\/luci-static\/.*$/, '');
		const res = await fetch(base + '/cgi-bin/jammonitor/api/wan.roles', {
			method: 'POST', body: JSON.stringify(body),
			headers: {Authorization: 'Bearer ' + env.sid, 'Content-Type': 'application/json', Origin: new URL(base).origin},
		});
		assert.equal((await res.json()).ok, true);
	}

	it('from the top of the page, Tab/Space/digit/Enter move a Bonded WAN to Standby (German)', async () => {
		const before = Object.fromEntries((await api('wan')).wans.map(w => [w.name, w.role]));
		const bonded = Object.keys(before).find(n => before[n] === 'on');
		assert.ok(bonded, 'the rig has a Bonded WAN: ' + JSON.stringify(before));
		const p = await openIn('de', {tab: 'overview'});
		const {page} = p;
		try {
			// Tab to the WAN Policy tab and open it with Enter.
			let found = false;
			for (let i = 0; i < 30 && !found; i++) {
				await page.keyboard.press('Tab');
				found = await page.evaluate(() => document.activeElement?.dataset?.tab === 'wan-policy');
			}
			assert.ok(found, 'the WAN Policy tab is reachable with Tab');
			await page.keyboard.press('Enter');
			await page.locator('.jm-wan-row').first().waitFor();
			// Tab on to the Bonded WAN's row.
			found = false;
			for (let i = 0; i < 60 && !found; i++) {
				await page.keyboard.press('Tab');
				found = await page.evaluate(n => document.activeElement?.dataset?.wan === n, bonded);
			}
			assert.ok(found, `the row of ${bonded} is reachable with Tab`);
			const focusVisible = await page.evaluate(() => {
				const cs = getComputedStyle(document.activeElement);
				return cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 2;
			});
			assert.ok(focusVisible, 'the focused row shows a visible focus ring');
			await page.keyboard.press('Space');
			await page.keyboard.press('3'); // Standby
			await page.keyboard.press('Enter');
			await page.waitForFunction(n => document.querySelector(`.jm-zone[data-role=backup] [data-wan="${n}"]`) && !document.querySelector('.jm-wan-row.jm-pending'), bonded, {timeout: 20000});
			assert.equal(uci(`network.${bonded}.multipath`), 'backup');
			assert.match(await page.locator('.jm-app [aria-live]').first().innerText().catch(() => ''), /.*/);
			// Leaving Overview for WAN Policy cancels its poll in flight: not a problem.
			assert.deepEqual(p.problems.filter(x => !/net::ERR_ABORTED/.test(x)), []);
		} finally {
			await roles({roles: before});
			await p.close();
		}
	});
});
