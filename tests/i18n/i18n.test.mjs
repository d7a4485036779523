// htdocs/i18n.js in Node (no browser): language detection, catalogue loading from the generated
// JSON, plurals per language, placeholders, and LuCI's own catalogue taking precedence inside LuCI.
// Run by `make i18n-check` after `scripts/i18n.py catalogues`.
import {describe, it, beforeEach} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath, pathToFileURL} from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const i18n = await import(pathToFileURL(path.join(REPO, 'htdocs/i18n.js')).href);

// fetch() of i18n/<code>.json reads the generated catalogue from disk.
const fetched = [];
globalThis.fetch = async url => {
	const file = fileURLToPath(String(url));
	fetched.push(path.basename(file));
	if (!fs.existsSync(file)) return {ok: false, status: 404, json: async () => null};
	return {ok: true, status: 200, json: async () => JSON.parse(fs.readFileSync(file, 'utf8'))};
};

beforeEach(() => { fetched.length = 0; delete globalThis.window; delete globalThis.document; });

describe('detection', () => {
	const cases = [
		[['de-AT', 'en'], 'de'], [['zh-TW'], 'zh-Hant'], [['zh-HK'], 'zh-Hant'], [['zh-MO'], 'zh-Hant'],
		[['zh-Hant-TW'], 'zh-Hant'], [['zh-CN'], 'zh-Hans'], [['zh'], 'zh-Hans'], [['zh-SG'], 'zh-Hans'],
		[['pt-PT'], 'pt-BR'], [['pt-BR'], 'pt-BR'], [['xx', 'fr-CA'], 'fr'], [['en-GB'], 'en'],
		[['tlh', 'xx-YY'], 'en'], [['AR-eg'], 'ar'], [['uk-UA'], 'uk'], [['zh_Hans'], 'zh-Hans'],
	];
	for (const [tags, want] of cases) it(`${tags.join(', ')} → ${want}`, () => assert.equal(i18n.detect(tags), want));
});

describe('catalogues', () => {
	it('every language loads its catalogue and translates the tab names', async () => {
		for (const [code] of i18n.LANGUAGES) {
			if (code === 'en') continue;
			assert.equal(await i18n.init(code), code);
			assert.notEqual(i18n._('WAN Policy'), 'WAN Policy', code);
			assert.notEqual(i18n._('Overview'), 'Overview', code);
		}
	});
	it('English needs no request', async () => {
		assert.equal(await i18n.init('en'), 'en');
		assert.deepEqual(fetched, []);
		assert.equal(i18n._('Overview'), 'Overview');
	});
	it('an unknown string stays English; placeholders are filled after translation', async () => {
		await i18n.init('de');
		assert.equal(i18n._('No such string anywhere'), 'No such string anywhere');
		assert.equal(i18n._f('Edit {wan}', {wan: 'wan1'}), 'wan1 bearbeiten');
	});
	it('plurals follow each language\'s formula', async () => {
		await i18n.init('ru');
		assert.equal(i18n.N_(1, '{total} route', '{total} routes'), '{total} маршрут');
		assert.equal(i18n.N_(3, '{total} route', '{total} routes'), '{total} маршрута');
		assert.equal(i18n.N_(11, '{total} route', '{total} routes'), '{total} маршрутов');
		assert.equal(i18n.N_(21, '{total} route', '{total} routes'), '{total} маршрут');
		await i18n.init('ar');
		assert.equal(i18n.N_(2, '{total} route', '{total} routes'), '{total} مساران');
		assert.equal(i18n.N_(5, '{total} route', '{total} routes'), '{total} مسارات');
		await i18n.init('fr');
		assert.equal(i18n.N_(0, '{n} packet', '{n} packets'), '{n} paquet');
		await i18n.init('en');
		assert.equal(i18n.N_(1, '{n} packet', '{n} packets'), '{n} packet');
		assert.equal(i18n.N_(2, '{n} packet', '{n} packets'), '{n} packets');
	});
	it('Arabic is right-to-left', async () => {
		await i18n.init('ar');
		assert.equal(i18n.isRtl(), true);
		await i18n.init('de');
		assert.equal(i18n.isRtl(), false);
	});
	it('the plural formula guard refuses anything but arithmetic on n', () => {
		assert.equal(typeof i18n.pluralFunction('n != 1'), 'function');
		assert.equal(i18n.pluralFunction('alert(1)'), null);
		assert.equal(i18n.pluralFunction('n; fetch("x")'), null);
	});
});

describe('inside LuCI', () => {
	function luci(lang, tr) {
		globalThis.document = {documentElement: {getAttribute: () => lang}};
		globalThis.window = {TR: {}, _: (s) => tr[s] || s, N_: (n, s, p) => (n === 1 ? s : p)};
	}
	it('auto follows the LuCI language and uses LuCI\'s catalogue without a request when it has our strings', async () => {
		luci('de', {'WAN Policy': 'WAN-Richtlinie (LuCI)', 'Overview': 'Übersicht (LuCI)'});
		assert.equal(await i18n.init('auto'), 'de');
		assert.deepEqual(fetched, []);
		assert.equal(i18n._('Overview'), 'Übersicht (LuCI)');
		assert.equal(i18n._('Cancel'), 'Cancel', 'a string LuCI lacks falls back to English (no catalogue loaded)');
	});
	it('without luci-i18n-jammonitor-<lang>, our catalogue fills in behind LuCI\'s', async () => {
		luci('ja', {'Overview': '概要 (LuCI)'});
		assert.equal(await i18n.init('auto'), 'ja');
		assert.deepEqual(fetched, ['ja.json']);
		assert.equal(i18n._('Overview'), '概要 (LuCI)');
		assert.equal(i18n._('WAN Policy'), 'WAN ポリシー');
	});
	it('a manual choice other than LuCI\'s language uses our catalogue only', async () => {
		luci('de', {'Overview': 'Übersicht (LuCI)'});
		assert.equal(await i18n.init('fr'), 'fr');
		assert.equal(i18n._('Overview'), "Vue d'ensemble");
	});
	it('LuCI\'s zh_Hans style language maps to our code', async () => {
		luci('zh-hans', {});
		assert.equal(await i18n.init('auto'), 'zh-Hans');
	});
});
