// The translatable strings now live in po/templates/jammonitor.pot (gettext, the OpenWrt way):
// `python3 scripts/i18n.py update` extracts them and updates every po/<lang>/jammonitor.po,
// `python3 scripts/i18n.py check` is the completeness test. `node lib/i18n-strings.mjs --write`
// still works and runs the update.
import {spawnSync} from 'node:child_process';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const HTDOCS = path.join(REPO, 'htdocs');

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.includes('--write')) {
	const r = spawnSync('python3', [path.join(REPO, 'scripts/i18n.py'), 'update'], {stdio: 'inherit'});
	process.exit(r.status ?? 1);
}
