// Checks that need no server: bundle budget, vendoring. (Translations: scripts/i18n.py check, make i18n-check.)
import {it} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import {execFileSync} from 'node:child_process';
import {HTDOCS} from '../lib/i18n-strings.mjs';

const REPO = path.resolve(HTDOCS, '..');

// DESIGN §11: the frontend the package ships is at most 250 KB before gzip, language files
// excluded. It ships minified (scripts/mkpkg.sh runs scripts/frontend/minify.mjs); the readable
// source is measured too, and printed, so its growth stays visible.
it('frontend stays within 250 KB before gzip as shipped (minified), language files excluded', () => {
	const out = fs.mkdtempSync(path.join(os.tmpdir(), 'jm-min-'));
	try {
		execFileSync('node', [path.join(REPO, 'scripts/frontend/minify.mjs'), HTDOCS, out], {stdio: ['ignore', 'ignore', 'inherit']});
		// What the luci-app package leaves out: the languages (own packages) and the demo page.
		const skip = new Set(['i18n', 'index.html', 'standalone.js']);
		const size = dir => {
			let total = 0;
			const walk = d => {
				for (const e of fs.readdirSync(d, {withFileTypes: true})) {
					if (d === dir && skip.has(e.name)) continue;
					const p = path.join(d, e.name);
					if (e.isDirectory()) walk(p); else total += fs.statSync(p).size;
				}
			};
			walk(dir);
			return total;
		};
		const shipped = size(out);
		const source = size(HTDOCS);
		console.log(`# htdocs as shipped: ${shipped} bytes minified (${source} bytes of source)`);
		assert.ok(shipped > 0.3 * source, `the minifier dropped code: ${shipped} of ${source} bytes`);
		assert.ok(shipped <= 250 * 1024, `${shipped} bytes`);
	} finally {
		fs.rmSync(out, {recursive: true, force: true});
	}
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
