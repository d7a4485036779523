// Minifies the frontend for the packages: every .js and .css file of SRC is written to OUT
// minified (esbuild, one file at a time, no bundling: the modules keep their names and imports);
// other files and the already minified vendor files are copied as they are. Deterministic (same
// input, same bytes), so the packages stay reproducible.
//
//   node scripts/frontend/minify.mjs SRC OUT      prints the byte totals before and after
import fs from 'node:fs';
import path from 'node:path';
import {transformSync} from 'esbuild';

const [src, out] = process.argv.slice(2);
if (!src || !out) {
	console.error('usage: minify.mjs SRC OUT');
	process.exit(2);
}
fs.rmSync(out, {recursive: true, force: true});

let before = 0;
let after = 0;
const walk = (from, to) => {
	fs.mkdirSync(to, {recursive: true});
	for (const e of fs.readdirSync(from, {withFileTypes: true}).sort((a, b) => a.name < b.name ? -1 : 1)) {
		const s = path.join(from, e.name);
		const d = path.join(to, e.name);
		if (e.isDirectory()) { walk(s, d); continue; }
		const text = fs.readFileSync(s);
		let result = text;
		const ext = path.extname(e.name);
		if ((ext === '.js' || ext === '.css') && !e.name.includes('.min.')) {
			try {
				result = transformSync(text.toString('utf8'), {
					loader: ext.slice(1), minify: true, legalComments: 'inline', charset: 'utf8',
				}).code;
			} catch (err) {
				console.error(`minify: ${s}: ${err.message}`);
				process.exit(1);
			}
		}
		fs.writeFileSync(d, result);
		before += text.length;
		after += Buffer.byteLength(result);
	}
};
walk(src, out);
console.log(`minify: ${src} ${before} bytes -> ${out} ${after} bytes`);
