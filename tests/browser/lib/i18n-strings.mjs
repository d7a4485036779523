// Extracts the translatable strings of htdocs: every _('…') and N_('…') literal.
// `node lib/i18n-strings.mjs --write` regenerates htdocs/i18n/en.json (English → English).
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

export const HTDOCS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../htdocs');

function jsFiles(dir) {
	return fs.readdirSync(dir, {withFileTypes: true}).flatMap(e => {
		const p = path.join(dir, e.name);
		if (e.isDirectory()) return e.name === 'vendor' || e.name === 'i18n' ? [] : jsFiles(p);
		return e.name.endsWith('.js') ? [p] : [];
	});
}

export function extract() {
	const out = new Set();
	const re = /\bN?_\(\s*'((?:[^'\\]|\\.)*)'/g;
	for (const f of jsFiles(HTDOCS)) {
		for (const m of fs.readFileSync(f, 'utf8').matchAll(re)) out.add(m[1].replace(/\\(.)/g, '$1'));
	}
	return [...out].sort();
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.includes('--write')) {
	const keys = extract();
	const json = Object.fromEntries(keys.map(k => [k, k]));
	fs.writeFileSync(path.join(HTDOCS, 'i18n/en.json'), JSON.stringify(json, null, '\t') + '\n');
	console.log(keys.length + ' strings written to htdocs/i18n/en.json');
}
