// Diagnostics → diagnostic bundle (issue 15): start a redacted bundle (a background job on the
// router), follow it section by section, cancel it, see its size and every section's status,
// download it. One `diag` request per tab refresh; while a bundle runs, the tab's scheduler asks
// `job?id=` once a second (refreshJob).
// The download is a POST with the Bearer header whose answer is saved from a Blob (api.download):
// the session id never appears in a URL.
//
// Section notes and job errors come from the router (file paths, command output words):
// everything lands through dom.h as text.

import {h, replace} from '../../dom.js';
import {_, _f, gettext_noop} from '../../i18n.js';
import {errorText} from '../../errors.js';
import * as fmt from '../../format.js';
import {badge, emptyNote} from '../../ui.js';

const WRITE_TIMEOUT_MS = 15000;   // diag.cancel waits up to 2 s for the job to stop
const DOWNLOAD_TIMEOUT_MS = 120000;

const STATUS = {
	pending: [gettext_noop('waiting'), 'muted'],
	running: [gettext_noop('collecting'), 'info'],
	ok: [gettext_noop('complete'), 'ok'],
	partial: [gettext_noop('partial'), 'warn'],
	missing: [gettext_noop('not on this router'), 'muted'],
	failed: [gettext_noop('failed'), 'bad'],
};

// What the redaction removes (docs/redaction.md), shown before anyone shares a bundle.
const REMOVED = [
	gettext_noop('Passwords, keys and tokens in every configuration (Wi-Fi keys, PPPoE and DDNS passwords, VPS password and API token, WireGuard private and preshared keys, shadowsocks, Glorytun, OpenVPN and MLVPN secrets).'),
	gettext_noop('Private keys and OpenVPN inline <key>, <tls-auth> and <tls-crypt> blocks.'),
	gettext_noop('JWTs, Bearer tokens, Tailscale keys and login links, passwords in URLs, random-looking secrets under any option name.'),
];
const KEPT = gettext_noop('Kept: public keys, addresses, routes, the firewall ruleset, DHCP leases with MACs and host names, and log lines. The bundle is checked again after it is built and refused if anything secret-looking is left.');

export function createBundle(ctx) {
	const {api} = ctx;
	let canWrite = ctx.canWrite; // undefined: ask the server once (GET session)
	let sessionAsked = ctx.canWrite !== undefined || ctx.readOnly;
	const writable = () => !ctx.readOnly && canWrite !== false;
	let data = null;          // GET diag
	let job = null;           // the newest diag job (as last polled)
	let busy = false;         // a POST from this page in flight
	let visible = true;

	const msg = h('p', {class: 'jm-msg', hidden: true, role: 'status'});
	const actions = h('div', {class: 'jm-actions jm-start'});
	const progress = h('div', {class: 'jm-bundle-progress', hidden: true});
	const list = h('div', {class: 'jm-bundle-sections'});
	const removed = h('details', {class: 'jm-bundle-removed'},
		h('summary', {text: _('What is removed from the bundle')}),
		h('ul', {class: 'jm-list'}, REMOVED.map(t => h('li', {text: _(t)}))),
		h('p', {class: 'jm-muted', text: _(KEPT)}));
	const el = h('section', {class: 'jm-bundle', 'data-section': 'bundle'},
		h('h3', {class: 'jm-section-title', text: _('Diagnostic bundle')}),
		h('p', {class: 'jm-note', text: _('A gzip archive of text files about this router, for a support request. Secrets are removed before anything is written.')}),
		removed, msg, actions, progress, list);
	replace(list, emptyNote(_('Loading…')));

	const running = () => !!(job && job.state === 'running');
	const say = (text, kind = 'info') => {
		msg.hidden = !text;
		msg.dataset.kind = kind;
		msg.setAttribute('role', kind === 'error' ? 'alert' : 'status');
		msg.textContent = text || '';
	};
	const serverText = errorText;

	function button(text, onclick, {primary = false, action, enabled = true} = {}) {
		const ok = enabled && writable() && !busy;
		return h('button', {type: 'button', class: ['jm-btn', primary && 'jm-btn-primary'], 'data-action': action, 'data-write': '',
			disabled: !ok, title: !writable() ? _('Read-only session: changes are disabled.') : '', text, onclick});
	}

	// ---- server calls ----
	async function start() {
		if (busy || running()) return;
		busy = true;
		say(_('Starting…'));
		render();
		try {
			const r = await api.post('diag.bundle', {}, {timeoutMs: WRITE_TIMEOUT_MS});
			job = r.job;
			say('');
			ctx.refresh(); // the scheduler now polls the job every second
		} catch (err) {
			say(serverText(err), 'error');
		} finally {
			busy = false;
			render();
		}
	}

	async function cancel() {
		if (busy || !running()) return;
		busy = true;
		render();
		try {
			const r = await api.post('diag.cancel', {id: job.id}, {timeoutMs: WRITE_TIMEOUT_MS});
			job = r.job;
			say(_('The bundle was cancelled.'));
		} catch (err) {
			say(serverText(err), 'error');
		} finally {
			busy = false;
			render();
		}
	}

	async function download() {
		if (busy || !job || job.state !== 'done') return;
		busy = true;
		say(_('Downloading…'));
		render();
		const res = job.result || {};
		try {
			await api.download('diag.download', {body: {id: job.id}, filename: res.file || 'jammonitor-diag.tar.gz', timeoutMs: DOWNLOAD_TIMEOUT_MS});
			job = {...job, available: false};
			say(_f('Saved {file} ({size}). The router deleted its copy.', {file: res.file || '', size: fmt.bytes(res.size_bytes)}), 'ok');
		} catch (err) {
			if (err && err.status === 404) job = {...job, available: false};
			say(serverText(err), 'error');
		} finally {
			busy = false;
			render();
		}
	}

	// ---- polling (by the tab's scheduler: every second while a bundle runs) ----
	const jobActive = () => Boolean(visible && running());

	async function refreshJob(signal) {
		if (!jobActive()) return refresh(signal);
		try {
			const d = await api.get('job', {query: {id: job.id}, signal});
			if (!job || d.id !== job.id) return;
			job = {...d, available: d.state === 'done'};
			render();
		} catch (err) {
			if (err && err.name === 'AbortError') throw err;
			if (err && (err.status === 404 || err.status === 400)) {
				job = {...job, state: 'failed', error: serverText(err)};
				render();
				return;
			}
			throw err;
		}
	}

	async function refresh(signal) {
		visible = true;
		if (busy) return;
		if (!sessionAsked) {
			sessionAsked = true;
			try {
				const s = await api.get('session', {signal});
				if (s && typeof s.write === 'boolean') canWrite = s.write;
			} catch (err) {
				if (err && err.name === 'AbortError') { sessionAsked = false; throw err; }
			}
		}
		const d = await api.get('diag', {signal});
		data = d;
		// Our own job's live state wins over a tab refresh that raced it.
		if (!(job && d.job && job.id === d.job.id && job.state === 'running' && d.job.state === 'running')) job = d.job || null;
		render();
	}

	// ---- rendering ----
	function sectionsOf() {
		const live = job && ((job.state === 'running' ? job.detail && job.detail.sections : job.result && job.result.sections)
			|| (job.detail && job.detail.sections));
		if (Array.isArray(live) && live.length) return live;
		return ((data && data.sections) || []).map(s => ({...s, status: null}));
	}

	function render() {
		const j = job;
		const res = j && j.result && typeof j.result === 'object' ? j.result : {};
		replace(actions,
			button(_('Create bundle'), start, {primary: true, action: 'bundle-start', enabled: !running()}),
			running() ? button(_('Cancel'), cancel, {action: 'bundle-cancel'}) : null,
			j && j.state === 'done' && j.available !== false
				? button(_f('Download ({size})', {size: fmt.bytes(res.size_bytes)}), download, {primary: true, action: 'bundle-download'})
				: null);

		progress.hidden = !j;
		progress.dataset.job = j ? String(j.id || '') : '';
		progress.dataset.state = j ? String(j.state || '') : '';
		if (j) {
			const bar = h('progress', {max: 100, 'aria-label': _('Bundle progress')});
			if (typeof j.pct === 'number' && j.state === 'running') bar.value = Math.max(0, Math.min(100, j.pct));
			if (j.state === 'done') bar.value = 100;
			const head = j.state === 'done' ? badge(_('ready'), 'ok')
				: j.state === 'failed' ? badge(j.phase === 'cancelled' ? _('cancelled') : _('failed'), j.phase === 'cancelled' ? 'muted' : 'bad')
				: badge(_('running'), 'info');
			let text;
			if (j.state === 'failed') text = j.phase === 'cancelled' ? _('Cancelled before it finished; nothing was kept.') : String(j.error || _('The bundle failed.'));
			else if (j.state === 'done') {
				text = j.available === false
					? _f('Built {when}; it was downloaded or has expired (bundles are kept one hour).', {when: fmt.datetime(j.finished_at)})
					: _f('{size}, built {when}. Kept on the router for one hour or until downloaded.', {size: fmt.bytes(res.size_bytes), when: fmt.datetime(j.finished_at)});
			} else text = String(j.message || '');
			replace(progress,
				h('div', {class: 'jm-job-head'}, head,
					j.state === 'done' ? h('span', {class: 'jm-bundle-size', 'data-bytes': String(res.size_bytes ?? ''), text: fmt.bytes(res.size_bytes)}) : null),
				j.state === 'running' ? bar : null,
				h('p', {class: ['jm-job-msg', j.state === 'failed' && j.phase !== 'cancelled' && 'jm-bad-text'], 'data-state': j.state, text}));
		}

		const secs = sectionsOf();
		replace(list, secs.length ? h('table', {class: 'jm-table jm-bundle-table'},
			h('thead', {}, h('tr', {}, h('th', {text: _('File')}), h('th', {text: _('Contents')}), h('th', {text: _('Status')}), h('th', {class: 'jm-num', text: _('Size')}))),
			h('tbody', {}, secs.map(s => {
				const st = s.status && STATUS[s.status];
				return h('tr', {'data-file': String(s.file || ''), 'data-status': String(s.status || '')},
					h('td', {class: 'jm-mono', text: String(s.file || '')}),
					h('td', {}, String(s.title || ''), s.note ? h('div', {class: 'jm-muted jm-small', text: String(s.note)}) : null),
					h('td', {}, st ? badge(_(st[0]), st[1]) : fmt.DASH),
					h('td', {class: 'jm-num', text: typeof s.bytes === 'number' && s.status && s.status !== 'pending' ? fmt.bytes(s.bytes) : fmt.DASH}));
			}))) : emptyNote(_('No sections listed.')));
	}

	return {
		el, refresh, refreshJob, jobActive,
		hide() { visible = false; },
		destroy() { visible = false; },
	};
}
