// Checks that need no server: bundle budget, vendoring. (Translations: scripts/i18n.py check, make i18n-check.)
import {it} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {HTDOCS} from '../lib/i18n-strings.mjs';

it('frontend stays within 250 KB before gzip, language files excluded', () => {
	let total = 0;
	const walk = dir => {
		for (const e of fs.readdirSync(dir, {withFileTypes: true})) {
			const p = path.join(dir, e.name);
			if (e.isDirectory()) { if (p !== path.join(HTDOCS, 'i18n')) walk(p); } else total += fs.statSync(p).size;
		}
	};
	walk(HTDOCS);
	console.log(`# htdocs without i18n: ${total} bytes`);
	assert.ok(total <= 250 * 1024, `${total} bytes`);
});

it('uPlot is vendored with its licence and version, and nothing loads from a CDN', () => {
	const dir = path.join(HTDOCS, 'vendor/uplot');
	for (const f of ['uPlot.iife.min.js', 'uPlot.min.css', 'LICENSE', 'VERSION']) assert.ok(fs.existsSync(path.join(dir, f)), f);
	assert.match(fs.readFileSync(path.join(dir, 'VERSION'), 'utf8'), /uPlot \d+\.\d+\.\d+[\s\S]*MIT/);
	for (const f of fs.readdirSync(HTDOCS, {recursive: true})) {
		if (!/\.(js|html|css)$/.test(f) || f.startsWith('vendor')) continue;
		const src = fs.readFileSync(path.join(HTDOCS, f), 'utf8');
		assert.doesNotMatch(src, /(src|href)\s*=\s*["']https?:|import\s*\(?\s*["']https?:|url\(\s*["']?https?:/, f);
	}
});
