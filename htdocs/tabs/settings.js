// Settings tab: the language choice (stored in this browser) and updates: installed version,
// build, package format, channel, the last check, "check now", install, rollback.
// `GET update` only reads files on the router (never the update server); checks and installs
// are jobs (update.check / update.install / update.rollback), polled until they end; a
// successful install or rollback reloads the page into the new version.

import {h, replace, setText} from '../dom.js';
import {_, LANGUAGES, SHIPPED, storedChoice, storeChoice, _f} from '../i18n.js';
import {errorText} from '../errors.js';
import {badge, dl, row} from '../ui.js';
import * as fmt from '../format.js';

const JOB_POLL_MS = 1000;

export function create(ctx) {
	const {api, onLanguage} = ctx;
	const choice = storedChoice();
	const select = h('select', {id: 'jm-lang', onchange: () => { storeChoice(select.value); onLanguage(); }},
		h('option', {value: 'auto', text: _('Automatic (browser language)'), selected: choice === 'auto'}),
		LANGUAGES.filter(([code]) => SHIPPED.has(code)).map(([code, name]) =>
			h('option', {value: code, lang: code, text: name, selected: choice === code})));

	const info = h('div', {class: 'jm-update-info'}, h('p', {class: 'jm-note', text: _('Loading…')}));
	const msg = h('p', {class: 'jm-note jm-update-msg', role: 'status', 'aria-live': 'polite'});
	const bar = h('progress', {class: 'jm-update-progress', max: 100, hidden: true});
	const btn = (text, action, onclick, extra = '') => ctx.guardWrite(h('button', {
		type: 'button', class: 'jm-btn ' + extra, 'data-action': action, text, onclick}));
	const checkBtn = btn(_('Check now'), 'update-check', () => start('update.check', {}));
	const installBtn = btn('', 'update-install', () => start('update.install', {}), 'jm-btn-primary');
	const downgradeBtn = btn(_('Install the older version anyway'), 'update-downgrade', () => {
		if (confirm(_('Install an older version than the one installed?'))) start('update.install', {allow_downgrade: true});
	}, 'jm-btn-danger');
	const rollbackBtn = btn('', 'update-rollback', () => {
		if (confirm(_('Reinstall the previous version?'))) start('update.rollback', {});
	});
	installBtn.hidden = downgradeBtn.hidden = rollbackBtn.hidden = true;

	const el = h('div', {class: 'jm-settings', 'data-panel': 'settings'},
		h('section', {class: 'jm-block'},
			h('div', {class: 'jm-block-head'}, h('h3', {text: _('Language')})),
			h('div', {class: 'jm-block-body'},
				h('label', {for: 'jm-lang', class: 'jm-muted', text: _('Language of this page (saved in this browser)')}),
				select)),
		h('section', {class: 'jm-block jm-update', 'data-block': 'update'},
			h('div', {class: 'jm-block-head'}, h('h3', {text: _('Update')})),
			h('div', {class: 'jm-block-body'}, info, bar, msg,
				h('div', {class: 'jm-actions'}, checkBtn, installBtn, downgradeBtn, rollbackBtn))));

	let data = null;
	let job = null;       // the running job file
	let timer = null;
	let destroyed = false;
	let busy = false;

	function render() {
		const d = data;
		if (!d) return;
		const inst = d.installed;
		const lc = d.last_check;
		let last = _('never');
		if (lc) {
			last = h('span', {},
				fmt.datetime(lc.checked_at) + ' — ',
				lc.ok ? (lc.available ? badge(_f('{version} available', {version: lc.latest}), 'info')
					: badge(_f('Up to date ({version})', {version: lc.latest || fmt.DASH}), 'ok'))
					: badge(_('Failed'), 'bad', lc.error || ''),
				lc.ok ? '' : h('span', {class: 'jm-update-error', text: ' ' + (lc.error || '')}));
		}
		const pm = inst ? (inst.format === 'apk' ? 'apk (.apk)' : 'opkg (.ipk)') : _('not installed by a package manager');
		replace(info, dl([
			row(_('Version'), inst ? inst.version : d.build.version),
			row(_('Build'), d.build.version + (d.build.id ? ' (' + d.build.id + ')' : '')),
			row(_('Package format'), pm),
			row(_('Architecture'), inst ? inst.arch : fmt.DASH),
			row(_('Update channel'), d.settings.channel, {title: d.settings.url}),
			row(_('Last check'), last),
			row(_('Kept for rollback'), d.kept.previous || _('none')),
		]));
		const latest = lc && lc.ok ? lc.latest : null;
		installBtn.hidden = !(inst && d.available && latest);
		if (latest) setText(installBtn, _f('Install {version}', {version: latest}));
		rollbackBtn.hidden = !(inst && d.kept.previous);
		if (d.kept.previous) setText(rollbackBtn, _f('Roll back to {version}', {version: d.kept.previous}));
		checkBtn.disabled = installBtn.disabled = rollbackBtn.disabled = busy || ctx.readOnly;
		if (!inst) installBtn.hidden = rollbackBtn.hidden = true;
		if (ctx.setUpdateBadge) ctx.setUpdateBadge(!!d.available);
	}

	async function load() {
		try {
			data = await api.get('update');
			render();
		} catch (err) {
			replace(info, h('p', {class: 'jm-note', text: errorText(err)}));
		}
	}

	async function start(action, body) {
		if (busy) return;
		busy = true;
		downgradeBtn.hidden = true;
		render();
		setText(msg, _('Starting…'));
		try {
			const r = await api.post(action, body);
			job = r.job;
			showJob();
			poll();
		} catch (err) {
			busy = false;
			setText(msg, errorText(err));
			render();
		}
	}

	function showJob() {
		if (!job) return;
		bar.hidden = job.state !== 'running';
		if (typeof job.pct === 'number') bar.value = job.pct; else bar.removeAttribute('value');
		if (job.state === 'running') setText(msg, job.message || _('Working…'));
	}

	function poll() {
		clearTimeout(timer);
		timer = setTimeout(async () => {
			if (destroyed || !job) return;
			try {
				job = await api.get('job', {query: {id: job.id}});
			} catch (err) {
				setText(msg, errorText(err));
				poll();
				return;
			}
			showJob();
			if (job.state === 'running') { poll(); return; }
			busy = false;
			if (job.state === 'done') {
				const res = job.result || {};
				if (res.reload) {
					setText(msg, _f('Installed {version}. Reloading…', {version: res.version}));
					setTimeout(() => location.reload(), 1500);
					return;
				}
				setText(msg, job.kind === 'update' && res.latest ? _f('Checked: latest is {version}.', {version: res.latest}) : _('Done.'));
			} else {
				setText(msg, _f('Refused: {reason}', {reason: job.error || _('unknown error')}));
				downgradeBtn.hidden = !/^downgrade:/.test(job.error || '');
			}
			job = null;
			await load();
		}, JOB_POLL_MS);
	}

	load();
	return {
		el, intervalMs: 0, refresh: null, tick() {},
		destroy() { destroyed = true; clearTimeout(timer); },
	};
}
