// "Advanced settings" of the WAN tab: which interfaces WAN Policy manages (POST wan.managed),
// the omr-tracker failover defaults and the MPTCP globals (POST wan.advanced), all built from
// the server's `choices` (what this router's kernel offers, plus the value in use). Saving sends
// only the keys that changed. Polls refresh the form only while the user has not changed it, so
// typing is never overwritten; Reset goes back to the values last loaded.

import {h, setText} from '../../dom.js';
import {_, _f, gettext_noop} from '../../i18n.js';
import {errorText} from '../../errors.js';
import {field, errorMap, input, confirmDialog} from '../../dialog.js';
import {writeError} from './messages.js';
import {WRITE_TIMEOUT_MS} from './edit.js';

const FAILOVER = [
	['timeout', gettext_noop('Ping timeout (s)')],
	['count', gettext_noop('Pings per check')],
	['tries', gettext_noop('Failed checks before down')],
	['interval', gettext_noop('Check interval (s)')],
	['failure_interval', gettext_noop('Check interval while failing (s)')],
	['tries_up', gettext_noop('Good checks before up')],
];
const MPTCP = [
	['scheduler', gettext_noop('Scheduler')],
	['path_manager', gettext_noop('Path manager')],
	['congestion', gettext_noop('Congestion control')],
	['subflows', gettext_noop('Max subflows')],
	['stale_loss_cnt', gettext_noop('Stale loss count')],
];

const str = v => (v == null ? '' : String(v));
const asNumber = v => (v === '' ? null : /^-?\d+$/.test(v) ? Number(v) : v); // anything else: the server says why
const isRange = c => Array.isArray(c) && c.length === 2 && c.every(n => typeof n === 'number');

export function createAdvanced({api, host, writable, onSaved}) {
	const errors = errorMap();
	const form = h('form', {class: 'jm-form jm-adv-form', novalidate: true});
	const status = h('span', {class: 'jm-muted', role: 'status'});
	const formError = h('div', {class: 'jm-form-error', role: 'alert', hidden: true});
	const resetBtn = h('button', {type: 'button', class: 'jm-btn', text: _('Reset')});
	const saveBtn = h('button', {type: 'submit', class: 'jm-btn jm-btn-primary', text: _('Save'), 'data-write': ''});
	const fields = h('div', {class: 'jm-adv-fields'});
	form.append(fields, formError, h('div', {class: 'jm-actions'}, status, resetBtn, saveBtn));
	const el = h('details', {class: 'jm-block jm-wan-adv'},
		h('summary', {}, h('h3', {text: _('Advanced settings')})),
		form);

	let loaded = null;   // values of the last poll
	let filled = null;   // values the form was filled from (what Save compares with)
	let shape = '';      // eligible WANs + choices the form was built for
	let eligible = [];
	let ctl = null;      // {managed: Map name→checkbox, failover: Map, mptcp: Map}
	let saving = false;
	let locked = false;

	function build(list, choices) {
		errors.clear();
		eligible = list.map(e => e.name);
		ctl = {managed: new Map(), failover: new Map(), mptcp: new Map()};
		const managedErr = h('div', {class: 'jm-field-error', hidden: true});
		const boxes = list.map(e => {
			const cb = h('input', {type: 'checkbox', value: e.name, 'data-write': ''});
			ctl.managed.set(e.name, cb);
			return h('label', {class: 'jm-check', 'data-wan': e.name}, cb, ' ',
				h('span', {text: e.label || e.name}),
				h('span', {class: 'jm-muted', text: ' ' + [e.label ? e.name : null, e.device].filter(Boolean).join(', ')}));
		});
		errors.add('wans', {input: boxes.length ? ctl.managed.values().next().value : null,
			error(t) { managedErr.textContent = t || ''; managedErr.hidden = !t; }});
		const managedSet = h('fieldset', {class: 'jm-fieldset', 'data-field': 'wans'},
			h('legend', {text: _('WANs managed by WAN Policy')}),
			h('p', {class: 'jm-hint', text: _('Unticked interfaces are left alone. With every box ticked, new WAN interfaces are managed automatically.')}),
			boxes.length ? h('div', {class: 'jm-checks'}, boxes) : h('p', {class: 'jm-note', text: _('No eligible interfaces.')}),
			managedErr);

		const numField = (group, key, title, range) => {
			const name = group + '.' + key;
			const f = errors.add(name, field(name, _(title),
				input({inputmode: 'numeric', class: 'jm-input jm-input-short', 'data-write': ''}),
				{hint: isRange(range) ? _f('{min} to {max}', {min: range[0], max: range[1]}) : null}));
			ctl[group].set(key, f.input);
			return f.el;
		};
		const fo = (choices && choices.failover) || {};
		const mp = (choices && choices.mptcp) || {};
		const failoverSet = h('fieldset', {class: 'jm-fieldset'},
			h('legend', {text: _('Failover (omr-tracker defaults)')}),
			h('div', {class: 'jm-adv-grid'}, FAILOVER.map(([k, t]) => numField('failover', k, t, fo[k]))));
		const mptcpSet = h('fieldset', {class: 'jm-fieldset'},
			h('legend', {text: _('MPTCP')}),
			h('div', {class: 'jm-adv-grid'}, MPTCP.map(([k, t]) => {
				const c = mp[k];
				if (isRange(c) || !Array.isArray(c)) return numField('mptcp', k, t, c);
				const name = 'mptcp.' + k;
				const sel = h('select', {class: 'jm-input', 'data-write': ''}, c.map(v => h('option', {value: String(v), text: String(v)})));
				ctl.mptcp.set(k, sel);
				return errors.add(name, field(name, _(t), sel)).el;
			})));
		fields.replaceChildren(managedSet, failoverSet, mptcpSet);
		applyLock();
	}

	function fill(v) {
		for (const [name, cb] of ctl.managed) cb.checked = v.managed.includes(name);
		for (const [k, inp] of ctl.failover) inp.value = v.failover[k] ?? '';
		for (const [k, inp] of ctl.mptcp) {
			const want = v.mptcp[k] ?? '';
			if (inp.tagName === 'SELECT' && ![...inp.options].some(o => o.value === want)) {
				// A value outside the list (hand-edited config) or unset: shown, not silently replaced.
				inp.prepend(h('option', {value: want, text: want === '' ? _('(not set)') : _f('{value} (current)', {value: want})}));
			}
			inp.value = want;
		}
		filled = v;
	}

	function read() {
		return {
			managed: [...ctl.managed].filter(([, cb]) => cb.checked).map(([n]) => n),
			failover: Object.fromEntries([...ctl.failover].map(([k, inp]) => [k, inp.value.trim()])),
			mptcp: Object.fromEntries([...ctl.mptcp].map(([k, inp]) => [k, inp.value.trim()])),
		};
	}

	const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
	const dirty = () => !!(ctl && filled && !same(read(), filled));

	function update(data) {
		const list = Array.isArray(data.eligible) ? data.eligible : [];
		const adv = data.advanced || {};
		const order = (keys, src) => Object.fromEntries(keys.map(([k]) => [k, str(src && src[k])]));
		loaded = {
			managed: list.filter(e => e.selected).map(e => e.name),
			failover: order(FAILOVER, adv.failover),
			mptcp: order(MPTCP, adv.mptcp),
		};
		const nextShape = JSON.stringify([list.map(e => [e.name, e.label, e.device]), data.choices || null]);
		if (saving) return;
		if (!ctl || (nextShape !== shape && !dirty())) {
			shape = nextShape;
			build(list, data.choices);
			fill(loaded);
		} else if (!dirty() && !same(filled, loaded)) {
			fill(loaded);
		}
	}

	function showFormError(t) {
		formError.textContent = t || '';
		formError.hidden = !t;
	}

	function applyLock() {
		const off = locked || !writable();
		saveBtn.disabled = off || saving;
		saveBtn.title = off ? _('Changes are disabled.') : '';
	}

	resetBtn.addEventListener('click', () => {
		errors.clear();
		showFormError(null);
		setText(status, '');
		if (loaded) fill(loaded);
	});

	form.addEventListener('submit', async e => {
		e.preventDefault();
		if (saveBtn.disabled || !ctl) return;
		errors.clear();
		showFormError(null);
		setText(status, '');
		const cur = read();
		const managedChanged = cur.managed.join() !== filled.managed.join();
		const advChanged = !same([cur.failover, cur.mptcp], [filled.failover, filled.mptcp]);
		if (!managedChanged && !advChanged) { setText(status, _('Nothing to save.')); return; }
		if (managedChanged && !cur.managed.length) { errors.show('wans', _('Tick at least one WAN.')); return; }
		const lines = [];
		if (managedChanged) lines.push(_f('WAN Policy will manage: {list}.', {list: cur.managed.join(', ')}));
		if (advChanged) lines.push(_('Saving restarts omr-tracker and reloads MPTCP: connections may stall for a few seconds.'));
		if (!await confirmDialog(host, {title: _('Save advanced settings?'), lines, ok: _('Save and apply')})) return;
		saving = true;
		applyLock();
		setText(status, _('Saving…'));
		const onProgress = job => job.state === 'running' && job.message &&
			setText(status, _f('Applying on the router: {step}', {step: job.message}));
		try {
			if (managedChanged) {
				const all = cur.managed.length === eligible.length;
				await api.write('wan.managed', {wans: all ? [] : cur.managed}, {timeoutMs: WRITE_TIMEOUT_MS, onProgress});
				filled = {...filled, managed: cur.managed};
			}
			if (advChanged) {
				// Only the keys the user changed: the server leaves every other one as it is
				// (a scheduler this page does not know stays what the router runs).
				const changedOf = (now, was) => Object.entries(now).filter(([k, v]) => v !== was[k]);
				const body = {};
				const fo = changedOf(cur.failover, filled.failover);
				if (fo.length) body.failover = Object.fromEntries(fo.map(([k, v]) => [k, asNumber(v)]));
				const mp = changedOf(cur.mptcp, filled.mptcp);
				if (mp.length) body.mptcp = Object.fromEntries(mp.map(([k, v]) =>
					[k, ctl.mptcp.get(k).tagName === 'SELECT' ? v : asNumber(v)]));
				await api.write('wan.advanced', body, {timeoutMs: WRITE_TIMEOUT_MS, onProgress});
				filled = {...filled, failover: cur.failover, mptcp: cur.mptcp};
			}
			setText(status, _('Saved.'));
			onSaved();
		} catch (err) {
			setText(status, '');
			if (!(err && err.field && errors.show(err.field, errorText(err)))) showFormError(writeError(err));
		} finally {
			saving = false;
			applyLock();
		}
	});

	return {
		el, update,
		setLocked(v) { locked = v; applyLock(); },
	};
}
