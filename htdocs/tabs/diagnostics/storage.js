// Diagnostics → USB storage and history: the storage dashboard (database, collector, what is
// mounted at the mount point), the block devices with mount and format, and the collector's
// start/stop. One `storage` request per poll; writes (POST) show the server's message as
// returned; formatting is a background job polled through `job?id=` with its progress.
//
// Device names, labels, models, paths and server messages are attacker-influenced text (a USB
// stick chooses its own label and model): everything lands through dom.h as text.

import {h, replace, setText} from '../../dom.js';
import {_, _f} from '../../i18n.js';
import {errorText} from '../../errors.js';
import * as fmt from '../../format.js';
import {block, row, dl, badge, emptyNote} from '../../ui.js';

const WRITE_TIMEOUT_MS = 30000; // collector.stop waits up to 10 s, storage.unmount up to 8 s
export const JOB_POLL_MS = 1000;
const LABEL_RE = /^[A-Za-z0-9_-]{1,16}$/;
const CONFIRM_WORD = 'FORMAT';

const ok = v => typeof v === 'number' && Number.isFinite(v);

export function createStorage(ctx) {
	const {api} = ctx;
	let canWrite = ctx.canWrite; // undefined: ask the server once (GET session)
	let sessionAsked = ctx.canWrite !== undefined || ctx.readOnly;
	const writable = () => !ctx.readOnly && canWrite !== false;
	let busy = false;          // a write from this page is in flight
	let data = null, receivedAt = 0;
	let visible = true;
	let job = null, jobCtl = null; // our format job: {id, data}; the request polling it
	const jobRunning = () => !!(job && job.data && job.data.state === 'running');

	// ---- layout ----
	const msg = h('div', {class: 'jm-msg', hidden: true});
	const roNote = h('p', {class: 'jm-note', hidden: true, text: _('Read-only session: you can view storage but not change it.')});
	const db = block(_('History database'));
	const col = block(_('Collector'));
	const mnt = block(_('USB storage'));
	const devs = block(_('Block devices'), {wide: true});
	const colActions = h('div', {class: 'jm-actions jm-start'});
	const mntActions = h('div', {class: 'jm-actions jm-start'});
	const colBody = h('div');
	const mntBody = h('div');
	col.body.append(colBody, colActions);
	mnt.body.append(mntBody, mntActions);
	const wizard = h('section', {class: 'jm-block jm-wide jm-wizard', hidden: true, 'aria-labelledby': 'jm-fmt-title'});
	const el = h('section', {class: 'jm-storage', 'data-section': 'storage'},
		h('h3', {class: 'jm-section-title', text: _('USB storage and history')}),
		roNote, msg,
		h('div', {class: 'jm-grid'}, db.el, col.el, mnt.el, wizard, devs.el));
	replace(db.body, emptyNote(_('Loading…')));

	// ---- messages ----
	function say(text, kind = 'ok') {
		msg.hidden = !text;
		msg.dataset.kind = kind;
		msg.setAttribute('role', kind === 'error' ? 'alert' : 'status');
		replace(msg, h('span', {text: text || ''}),
			text ? h('button', {type: 'button', class: 'jm-btn jm-btn-small', 'aria-label': _('Dismiss'), text: '×', onclick: () => say('')}) : null);
	}
	// The server's own words: message as returned (and the field it names, when any).
	const serverText = errorText;

	// ---- write controls ----
	// Every write button carries data-write and its own precondition in data-can; the session
	// level and a write in flight disable them all.
	function writeBtn(text, onclick, {can = true, primary = false, danger = false, action, why} = {}) {
		const b = h('button', {type: 'button', class: ['jm-btn', primary && 'jm-btn-primary', danger && 'jm-btn-danger'],
			'data-write': '', 'data-can': can ? '1' : '0', 'data-action': action, 'data-why': why || null, text, onclick});
		applyWrite(b);
		return b;
	}
	function applyWrite(b) {
		const can = b.dataset.can === '1';
		const wait = busy || jobRunning();
		b.disabled = !writable() || wait || !can;
		b.title = !writable() ? _('Read-only session: changes are disabled.') : !can ? (b.dataset.why || '') : wait ? _('Another change is in progress.') : '';
	}
	function applyAll() {
		for (const b of el.querySelectorAll('[data-write]')) applyWrite(b);
		roNote.hidden = writable();
		updateFormatButton();
	}

	async function write(action, body, {done, label}) {
		if (busy || !writable()) return;
		busy = true;
		applyAll();
		say(label, 'info');
		try {
			const r = await api.post(action, body, {timeoutMs: WRITE_TIMEOUT_MS});
			say(done(r), 'ok');
			return r;
		} catch (err) {
			say(serverText(err), 'error');
			return null;
		} finally {
			busy = false;
			applyAll();
			ctx.refresh(); // show the new state now
		}
	}

	// ---- polling ----
	async function refresh(signal) {
		visible = true;
		if (busy) return; // the write's answer comes first, then a refresh
		if (!sessionAsked) {
			sessionAsked = true;
			try {
				const s = await ctx.session();
				if (s) canWrite = s.write;
			} catch (err) {
				if (err && err.name === 'AbortError') { sessionAsked = false; throw err; }
				// unknown: the server decides per request
			}
		}
		const d = await api.get('storage', {signal});
		data = d;
		receivedAt = performance.now();
		render(d);
		tick();
	}

	function render(d) {
		renderDb(d.database || {}, d);
		renderCollector(d.collector || {});
		renderMount(d);
		renderDevices(Array.isArray(d.devices) ? d.devices : [], d);
		applyAll();
	}

	// ---- database ----
	function placementText(p) {
		if (p === 'usb') return _('USB storage');
		if (p === 'ram') return _('RAM (saved to flash every few hours)');
		return p ? String(p) : fmt.DASH;
	}

	function renderDb(x) {
		if (!x.available) {
			const cp = x.checkpoint;
			replace(db.body, emptyNote(_('No history database yet: the collector creates it at its first sample.')),
				cp ? dl([row(_('Flash checkpoint'), _f('{size}, saved {when}', {size: fmt.bytes(cp.size_bytes), when: fmt.datetime(cp.modified_at)}), {title: cp.path})]) : null);
			return;
		}
		const rows = x.rows && typeof x.rows === 'object' ? Object.entries(x.rows).filter(([, v]) => ok(v)) : [];
		const total = rows.reduce((a, [, v]) => a + v, 0);
		const fs = x.filesystem || {};
		const cp = x.checkpoint;
		replace(db.body, dl([
			row(_('Placement'), h('span', {}, placementText(x.placement), ' ', h('span', {class: 'jm-muted', text: String(x.path || '')}))),
			row(_('Size'), fmt.bytes(x.size_bytes) + (ok(x.wal_bytes) && x.wal_bytes > 0 ? ' + ' + _f('{size} write-ahead log', {size: fmt.bytes(x.wal_bytes)}) : '')),
			row(_('Rows'), rows.length ? h('details', {class: 'jm-rows'},
				h('summary', {text: fmt.count(total)}),
				h('ul', {class: 'jm-list'}, rows.map(([k, v]) => h('li', {}, h('span', {class: 'jm-muted', text: k + ': '}), fmt.count(v))))) : fmt.DASH),
			row(_('Date range'), ok(x.first_sample)
				? _f('{from} to {to}', {from: fmt.datetime(x.first_sample), to: fmt.datetime(x.last_sample)})
				: _('No sample yet')),
			row(_('Free space'), ok(fs.avail_bytes)
				? _f('{free} free of {total}', {free: fmt.bytes(fs.avail_bytes), total: fmt.bytes(fs.total_bytes)})
				: fmt.DASH),
			cp ? row(_('Flash checkpoint'), _f('{size}, saved {when}', {size: fmt.bytes(cp.size_bytes), when: fmt.datetime(cp.modified_at)}), {title: cp.path}) : null,
			x.error ? row(_('Error'), h('span', {class: 'jm-bad-text', text: String(x.error)})) : null,
		]));
	}

	// ---- collector ----
	let sampleAge = null; // {el, base, interval}
	function stateBadge(c) {
		if (c.running) return badge(c.state === 'starting' ? _('starting') : _('running'), c.state === 'starting' ? 'info' : 'ok');
		if (c.state === 'never started') return badge(_('never started'), 'warn');
		return badge(_('stopped'), 'bad');
	}

	function renderCollector(c) {
		sampleAge = null;
		const lastEl = h('span');
		if (ok(c.last_sample_age_s)) sampleAge = {el: lastEl, base: c.last_sample_age_s, interval: ok(c.interval_s) ? c.interval_s : 60};
		const err = c.last_error && typeof c.last_error === 'object' ? c.last_error : null;
		const list = v => (Array.isArray(v) && v.length ? h('ul', {class: 'jm-list'}, v.map(s => h('li', {text: String(s)}))) : null);
		replace(colBody, dl([
			row(_('State'), h('span', {'data-state': c.running ? 'running' : 'stopped'}, stateBadge(c), c.running && ok(c.pid) ? h('span', {class: 'jm-muted', text: ' ' + _f('pid {pid}', {pid: c.pid})}) : null)),
			c.running && ok(c.started_at) ? row(_('Started'), fmt.datetime(c.started_at)) : null,
			ok(c.interval_s) ? row(_('Schedule'), _f('a sample every {s} s, pings every {p} s', {s: c.interval_s, p: ok(c.ping_interval_s) ? c.ping_interval_s : fmt.DASH})) : null,
			row(_('Last sample'), ok(c.last_sample_age_s) ? lastEl
				// Before the first sample: when it comes (the first is taken one interval after start).
				: c.running && ok(c.started_at) && ok(c.interval_s)
					? _f('none yet: the first at about {time}', {time: fmt.date(c.started_at + c.interval_s, {timeStyle: 'medium'})})
					: _('none yet')),
			c.placement ? row(_('Writes to'), h('span', {}, placementText(c.placement), c.placement_reason ? h('span', {class: 'jm-muted', text: ' — ' + c.placement_reason}) : null)) : null,
			c.clock_synced === false ? row(_('Clock'), badge(_('waiting for time sync: nothing is written yet'), 'warn')) : null,
			ok(c.last_checkpoint_at) ? row(_('Last checkpoint'), fmt.datetime(c.last_checkpoint_at)) : null,
			ok(c.last_sample_cpu_us) ? row(_('CPU per sample'), fmt.ms(c.last_sample_cpu_us / 1000)) : null,
			ok(c.rss_kb) ? row(_('Memory'), fmt.bytes(c.rss_kb * 1024)) : null,
			err ? row(_('Last error'), h('span', {}, h('span', {class: 'jm-bad-text', text: String(err.message || '')}), ok(err.at) ? h('span', {class: 'jm-muted', text: ' (' + fmt.datetime(err.at) + ')'}) : null)) : null,
			list(c.moved_aside) ? row(_('Moved aside'), list(c.moved_aside)) : null,
			list(c.config_problems) ? row(_('Configuration problems'), list(c.config_problems)) : null,
		]));
		replace(colActions,
			c.running
				? writeBtn(_('Stop collector'), () => write('collector.stop', {}, {
					label: _('Stopping the collector…'),
					done: () => _('The collector stopped. History and live pings pause until it starts again.'),
				}), {action: 'collector-stop'})
				: writeBtn(_('Start collector'), () => write('collector.start', {}, {
					label: _('Starting the collector…'),
					done: () => _('The collector is running.'),
				}), {primary: true, action: 'collector-start'}));
	}

	// ---- mount point ----
	let confirmUnmount = false;
	function renderMount(d) {
		const m = d.mounted;
		const point = String(d.mount_point || '/mnt/data');
		setText(mnt.el.querySelector('h3'), _f('USB storage at {path}', {path: point}));
		const fstab = Array.isArray(d.fstab) ? d.fstab : [];
		const boot = fstab.length ? h('ul', {class: 'jm-list'}, fstab.map(f => h('li', {},
			h('span', {text: String(f.section) + (f.uuid ? ' (UUID ' + f.uuid + ')' : f.device ? ' (' + f.device + ')' : '')}), ' ',
			badge(f.enabled ? _('enabled') : _('disabled'), f.enabled ? 'ok' : 'muted'),
			f.ours ? null : [' ', badge(_('not ours'), 'warn', _('Another mount entry for this path: LuCI → System → Mount Points'))]))) : _('none');
		if (m) {
			replace(mntBody, dl([
				row(_('Device'), String(m.source || m.device || fmt.DASH)),
				row(_('Filesystem'), [m.fstype, m.options].filter(Boolean).join(' · ') || fmt.DASH),
				row(_('Space'), ok(m.avail_bytes) ? _f('{free} free of {total}', {free: fmt.bytes(m.avail_bytes), total: fmt.bytes(m.total_bytes)}) : fmt.DASH),
				m.read_only ? row(_('Access'), badge(_('read-only'), 'bad')) : null,
				row(_('Mounted at boot'), boot),
			]));
		} else {
			replace(mntBody, emptyNote(_('Nothing is mounted here: history is kept in RAM and saved to flash every few hours. Mount a USB device below to keep it there.')),
				fstab.length ? dl([row(_('Mounted at boot'), boot)]) : null);
		}
		if (d.format_running && !job) mntBody.appendChild(h('p', {class: 'jm-note'}, badge(_('format running'), 'warn'), ' ', _('A format is running; mounting waits until it ends.')));
		if (!m) { confirmUnmount = false; replace(mntActions); return; }
		replace(mntActions, confirmUnmount
			? [h('span', {class: 'jm-muted', text: _f('History moves back to RAM. Unmount {path}?', {path: point})}),
				writeBtn(_('Unmount'), () => { confirmUnmount = false; write('storage.unmount', {}, {
					label: _('Unmounting…'),
					done: r => _f('Unmounted {source}. History continues in RAM.', {source: (r && r.unmounted && r.unmounted.source) || point}),
				}); }, {danger: true, action: 'unmount-confirm'}),
				h('button', {type: 'button', class: 'jm-btn', text: _('Cancel'), onclick: () => { confirmUnmount = false; renderMount(data); applyAll(); }})]
			: writeBtn(_('Unmount…'), () => { confirmUnmount = true; renderMount(data); applyAll(); }, {action: 'unmount'}));
	}

	// ---- devices ----
	function deviceTitle(x) {
		const model = [x.vendor, x.model].filter(Boolean).join(' ').trim();
		return model;
	}

	function renderDevices(list, d) {
		if (!list.length) { replace(devs.body, emptyNote(_('No block device found. Plug in a USB stick or disk.'))); return; }
		const point = String(d.mount_point || '/mnt/data');
		const mountedHere = !!d.mounted;
		replace(devs.body, h('div', {class: 'jm-cards'}, list.map(x => {
			const model = deviceTitle(x);
			const badges = [
				x.system ? badge(_('system'), 'bad', _('Holds /, /rom, /overlay or /boot: never formatted or mounted here')) : null,
				x.removable ? badge(x.usb ? _('USB') : _('removable'), 'info') : badge(_('not removable'), 'muted'),
				x.read_only ? badge(_('read-only'), 'warn') : null,
				x.in_use_for_history ? badge(_('holds the history'), 'ok') : null,
			];
			const refusals = Array.isArray(x.refusals) ? x.refusals : [];
			const mountWhy = refusals[0] || (mountedHere ? _f('{path} is already in use; unmount it first', {path: point}) : !String(x.fstype || '').startsWith('ext') ? _('Needs an ext2/3/4 filesystem: format it first') : '');
			return h('article', {class: ['jm-card', x.partition && 'jm-part'], 'data-device': String(x.name)},
				h('div', {class: 'jm-card-head'},
					h('strong', {class: 'jm-card-title', text: String(x.path || x.name)}),
					model ? h('span', {class: 'jm-muted', text: model}) : null,
					h('span', {class: 'jm-badges'}, badges)),
				dl([
					row(_('Size'), fmt.bytes(x.size_bytes)),
					row(_('Filesystem'), x.fstype ? String(x.fstype) : _('none')),
					row(_('Label'), x.label ? String(x.label) : fmt.DASH),
					x.partition ? null : row(_('Kind'), _('whole disk')),
					row(_('Mounted at'), Array.isArray(x.mounted_at) && x.mounted_at.length ? x.mounted_at.map(String).join(', ') : _('not mounted')),
				]),
				refusals.length ? h('ul', {class: 'jm-list jm-refusals'}, refusals.map(r => h('li', {class: 'jm-muted', text: String(r)}))) : null,
				x.system ? null : h('div', {class: 'jm-actions jm-start'},
					writeBtn(_('Use for history'), () => write('storage.mount', {device: x.name}, {
						label: _f('Mounting {device}…', {device: x.name}),
						done: r => mountDone(r, point),
					}), {can: !!x.can_mount && !d.format_running, why: mountWhy, action: 'mount'}),
					writeBtn(_('Format…'), () => openWizard(x), {can: !!x.can_format && !d.format_running,
						why: refusals[0] || (d.format_running ? _('A format is running.') : ''), action: 'format'})));
		})));
	}

	function mountDone(r, point) {
		const m = (r && r.mounted) || {};
		const warnings = r && Array.isArray(r.warnings) ? r.warnings : [];
		return [_f('Mounted {device} at {path}: history moves to it.', {device: m.device || '', path: m.mount_point || point}), ...warnings.map(String)].join(' ');
	}

	// ---- format wizard ----
	let target = null; // the device being formatted
	const jobFinished = () => job && job.data && (job.data.state === 'done' || job.data.state === 'failed');

	const labelIn = h('input', {class: 'jm-input jm-input-short', id: 'jm-fmt-label', value: 'jammonitor', maxlength: 16,
		autocomplete: 'off', spellcheck: 'false', oninput: () => updateFormatButton()});
	const confirmIn = h('input', {class: 'jm-input jm-input-short', id: 'jm-fmt-confirm', autocomplete: 'off', spellcheck: 'false',
		autocapitalize: 'characters', 'aria-describedby': 'jm-fmt-confirm-hint', oninput: () => updateFormatButton()});
	const labelErr = h('p', {class: 'jm-field-error', hidden: true});
	const formErr = h('p', {class: 'jm-form-error', role: 'alert', hidden: true});
	const fmtBtn = h('button', {type: 'submit', class: 'jm-btn jm-btn-danger', 'data-action': 'format-go', text: _('Erase and format')});
	const wizTitle = h('h3', {id: 'jm-fmt-title'});
	const wizWhat = h('p');
	const progress = h('div', {class: 'jm-job', hidden: true, role: 'status'});
	const form = h('form', {class: 'jm-form jm-fmt-form', novalidate: true, onsubmit: e => { e.preventDefault(); startFormat(); }},
		h('p', {class: 'jm-warn-text', text: _('Everything on the device will be erased. Only removable devices can be formatted, never the router\'s own storage.')}),
		h('div', {class: 'jm-field'}, h('label', {for: 'jm-fmt-label', text: _('Filesystem label')}), labelIn,
			h('p', {class: 'jm-hint', text: _('1 to 16 letters, digits, _ or -')}), labelErr),
		h('div', {class: 'jm-field'}, h('label', {for: 'jm-fmt-confirm', text: _('Type FORMAT to confirm')}), confirmIn,
			h('p', {class: 'jm-hint', id: 'jm-fmt-confirm-hint', text: _('In capitals. The button stays disabled until it matches.')})),
		formErr,
		h('div', {class: 'jm-actions'},
			h('button', {type: 'button', class: 'jm-btn', text: _('Cancel'), onclick: () => closeWizard()}), fmtBtn));
	const after = h('div', {class: 'jm-actions', hidden: true});
	replace(wizard, h('div', {class: 'jm-block-head'}, wizTitle), wizWhat, form, progress, after);

	function updateFormatButton() {
		const labelOk = LABEL_RE.test(labelIn.value);
		labelIn.setAttribute('aria-invalid', labelOk ? 'false' : 'true');
		labelErr.hidden = labelOk || labelIn.value === '';
		setText(labelErr, labelOk ? '' : _('Use 1 to 16 letters, digits, _ or -'));
		const confirmed = confirmIn.value === CONFIRM_WORD;
		fmtBtn.disabled = !confirmed || !labelOk || !writable() || busy || !target || (job && !jobFinished());
		fmtBtn.title = !writable() ? _('Read-only session: changes are disabled.') : !confirmed ? _('Type FORMAT to confirm') : '';
	}

	function openWizard(x) {
		if (job && !jobFinished()) return;
		target = x;
		job = null;
		setText(wizTitle, _f('Format {device} as ext4', {device: String(x.path || x.name)}));
		setText(wizWhat, [deviceTitle(x), fmt.bytes(x.size_bytes), x.fstype ? _f('now {fstype}', {fstype: x.fstype}) : _('no filesystem'),
			x.label ? _f('label {label}', {label: x.label}) : ''].filter(Boolean).join(' · '));
		confirmIn.value = '';
		labelIn.value = 'jammonitor';
		formErr.hidden = true;
		form.hidden = false;
		progress.hidden = true;
		after.hidden = true;
		wizard.hidden = false;
		updateFormatButton();
		wizard.scrollIntoView({block: 'nearest'});
		confirmIn.focus();
	}

	function closeWizard() {
		stopJobPoll();
		wizard.hidden = true;
		target = null;
		job = null;
	}

	async function startFormat() {
		updateFormatButton();
		if (fmtBtn.disabled) return;
		const device = target.name;
		busy = true;
		applyAll();
		formErr.hidden = true;
		for (const i of [labelIn, confirmIn]) i.removeAttribute('aria-invalid');
		try {
			const r = await api.post('storage.format', {device, confirm: confirmIn.value, label: labelIn.value}, {timeoutMs: WRITE_TIMEOUT_MS});
			const j = r && r.job;
			if (!j || typeof j.id !== 'string') throw new Error(_('The server did not return a job.'));
			job = {id: j.id, data: {...j, state: j.state || 'running'}};
			form.hidden = true;
			renderJob();
			ctx.refresh(); // the scheduler now polls the job every second
		} catch (err) {
			formErr.hidden = false;
			setText(formErr, serverText(err));
			const field = err && err.field;
			if (field === 'label') labelIn.setAttribute('aria-invalid', 'true');
			if (field === 'confirm') confirmIn.setAttribute('aria-invalid', 'true');
		} finally {
			busy = false;
			applyAll();
		}
	}

	// The format job is polled by the app's one scheduler (diagnostics.js asks every second while
	// jobActive(), and calls refreshJob instead of refresh); nothing here runs a timer of its own.
	function stopJobPoll() {
		if (jobCtl) jobCtl.abort();
		jobCtl = null;
	}
	const jobActive = () => Boolean(visible && job && !jobFinished());

	async function refreshJob(signal) {
		if (!jobActive()) return refresh(signal);
		const ctl = new AbortController();
		jobCtl = ctl;
		const stop = () => ctl.abort();
		signal?.addEventListener('abort', stop);
		try {
			const d = await api.get('job', {query: {id: job.id}, signal: ctl.signal});
			if (!job || ctl.signal.aborted) return;
			job.data = d;
			renderJob();
			applyAll();
			if (jobFinished()) await refresh(signal); // the device list changed
		} catch (err) {
			if (ctl.signal.aborted || (err && err.name === 'AbortError')) return;
			if (err && (err.status === 404 || err.status === 400)) {
				job.data = {...job.data, state: 'failed', error: serverText(err)};
				renderJob();
				applyAll();
				return;
			}
			setText(progress.querySelector('.jm-job-msg'), serverText(err)); // transient: next tick tries again
		} finally {
			signal?.removeEventListener('abort', stop);
			if (jobCtl === ctl) jobCtl = null;
		}
	}

	function renderJob() {
		const j = job && job.data;
		if (!j) return;
		progress.hidden = false;
		const pct = ok(j.pct) ? Math.max(0, Math.min(100, j.pct)) : null;
		const bar = h('progress', {max: 100, 'aria-label': _('Format progress')});
		if (pct != null && j.state === 'running') bar.value = pct;
		if (j.state === 'done') bar.value = 100;
		const phase = {checking: _('Checking the device'), formatting: _('Formatting'), verifying: _('Verifying')}[j.phase] || String(j.phase || '');
		const res = j.result && typeof j.result === 'object' ? j.result : {};
		replace(progress,
			h('div', {class: 'jm-job-head'},
				j.state === 'done' ? badge(_('done'), 'ok') : j.state === 'failed' ? badge(_('failed'), 'bad') : badge(phase || _('running'), 'info'),
				pct != null && j.state === 'running' ? h('span', {class: 'jm-muted', text: fmt.pct(pct, 0)}) : null),
			j.state === 'failed' ? null : bar,
			h('p', {class: ['jm-job-msg', j.state === 'failed' && 'jm-bad-text'], 'data-state': j.state,
				text: j.state === 'failed' ? String(j.error || _('The format failed.'))
					: j.state === 'done' ? _f('{device} now has an ext4 filesystem (label {label}, UUID {uuid}).', {device: res.device || (target && target.name) || '', label: res.label || fmt.DASH, uuid: res.uuid || fmt.DASH})
					: String(j.message || '')}));
		if (jobFinished()) {
			after.hidden = false;
			const dev = res.device || (target && target.name);
			replace(after,
				h('button', {type: 'button', class: 'jm-btn', text: _('Close'), onclick: () => closeWizard()}),
				j.state === 'done' && dev ? writeBtn(_('Use it for history'), () => write('storage.mount', {device: dev}, {
					label: _f('Mounting {device}…', {device: dev}),
					done: r => { closeWizard(); return mountDone(r, (data && data.mount_point) || '/mnt/data'); },
				}), {primary: true, action: 'mount-formatted'}) : null);
		}
	}

	// ---- ages ----
	function tick() {
		if (!data) return;
		const elapsed = (performance.now() - receivedAt) / 1000;
		if (sampleAge) {
			const a = sampleAge.base + elapsed;
			// Late: more than two intervals (plus slack) since the last sample.
			const late = a > 2 * sampleAge.interval + 10;
			replace(sampleAge.el, fmt.age(a), late ? [' ', badge(_('late'), 'warn', _('No sample for more than two intervals'))] : null);
		}
		return elapsed;
	}

	return {
		el, refresh, refreshJob, jobActive, tick,
		hide() { visible = false; stopJobPoll(); confirmUnmount = false; },
		destroy() { visible = false; stopJobPoll(); },
	};
}
