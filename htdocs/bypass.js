// VPS bypass in the page (docs/api.md "VPS bypass"): the state for the whole app, asked
// (`GET bypass`, files only on the router) when the X-JM-Bypass header of any answer changes and
// after a toggle, the banner every tab shows while the bypass is on or changing, and the Overview's block: state, the WAN carrying the traffic,
// and the one-click toggle — turning it on asks first (the impact: VPN down, bonding off, which
// WAN carries everything), turning it off restores what was recorded. WAN Policy locks itself
// from its own `wan` answer (`bypass_active`).

import {h, replace} from './dom.js';
import {_, _f} from './i18n.js';
import * as fmt from './format.js';
import {block, row, dl, badge} from './ui.js';
import {confirmDialog} from './dialog.js';
import {errorParts} from './errors.js';

// "Fiber (wan1)", or the name alone.
export function wanTitle(w) {
	if (!w || !w.name) return fmt.DASH;
	return w.label && w.label !== w.name ? `${w.label} (${w.name})` : w.name;
}

const changing = s => !!s && (s.state === 'enabling' || s.state === 'disabling');

// The app-level state and banner. observe(header) is fed the X-JM-Bypass header of every API
// answer (off | on | changing): the details (`GET bypass`) are asked only when it changes, so
// the bypass costs no request of its own while nothing happens. subscribe(fn) → unsubscribe;
// fn(state) on every answer.
export function createBypass({api}) {
	let state = null;
	let seen = null;
	let inFlight = null;
	let again = false;
	let dead = false;
	const listeners = new Set();
	const banner = h('div', {class: 'jm-bypass-banner', role: 'status', hidden: true});

	function render() {
		const on = !!state && (state.active || changing(state));
		banner.hidden = !on;
		if (!on) { banner.replaceChildren(); delete banner.dataset.state; return; }
		banner.dataset.state = state.state;
		let text;
		if (state.state === 'enabling') text = _('VPS bypass is being turned on…');
		else if (state.state === 'disabling') text = _('VPS bypass is being turned off…');
		else if (state.wan) text = _f('VPS bypass is on: all traffic leaves through {wan} directly, without the VPS, the VPN or bonding.', {wan: wanTitle(state.wan)});
		else text = _('VPS bypass is on: traffic leaves directly, without the VPS, the VPN or bonding.');
		replace(banner, h('strong', {text}), ' ',
			h('span', {text: _('WAN Policy is locked until it is turned off (Overview).')}));
	}

	// One request at a time; a change seen meanwhile asks once more after it.
	function poll() {
		if (inFlight) { again = true; return inFlight; }
		inFlight = (async () => {
			try {
				do {
					again = false;
					try {
						state = await api.get('bypass');
					} catch {
						return; // the tabs' own polls report a router that does not answer
					}
					if (dead) return;
					render();
					for (const f of listeners) f(state);
				} while (again);
			} finally {
				inFlight = null;
			}
		})();
		return inFlight;
	}

	return {
		banner,
		get state() { return state; },
		observe(v) {
			if (v === seen) return;
			seen = v;
			poll();
		},
		subscribe(f) { listeners.add(f); if (state) f(state); return () => listeners.delete(f); },
		refresh: () => poll(),
		destroy() { dead = true; listeners.clear(); },
	};
}

// The Overview's block. ctx: the app context (api, bypass, session, guardWrite, refresh).
export function overviewBlock(ctx) {
	const b = block(_('VPS bypass'));
	b.el.dataset.block = 'bypass';
	const info = h('div', {class: 'jm-bypass-info'});
	const msg = h('p', {class: 'jm-bypass-msg', role: 'alert', hidden: true});
	const btn = ctx.guardWrite(h('button', {type: 'button', class: 'jm-btn jm-bypass-toggle'}));
	b.body.append(info, msg, h('div', {class: 'jm-actions'}, btn));
	let state = null;
	let busy = false;
	let mayWrite = !ctx.readOnly;
	if (ctx.session) ctx.session().then(s => { if (s && s.write === false) { mayWrite = false; render(); } }, () => {});

	function render() {
		if (!state) { replace(info, h('p', {class: 'jm-note', text: _('Loading…')})); btn.hidden = true; return; }
		btn.hidden = false;
		const on = !!state.active;
		const st = state.state === 'enabling' ? badge(_('Turning on…'), 'warn')
			: state.state === 'disabling' ? badge(_('Turning off…'), 'warn')
				: on ? badge(_('On'), 'warn') : badge(_('Off'), 'muted');
		b.el.dataset.state = state.state;
		replace(info, dl(on ? [
			row(_('Status'), st),
			row(_('Traffic through'), h('span', {class: 'jm-bypass-wan', text: wanTitle(state.wan)})),
			row(_('Since'), typeof state.since === 'number' ? fmt.datetime(state.since) : fmt.DASH),
		] : [
			row(_('Status'), st),
			row(_('Would carry the traffic'), h('span', {class: 'jm-bypass-wan', text: wanTitle(state.wan)})),
		]), on ? null : h('p', {class: 'jm-note', text: _('For when the VPS or the tunnel is down: every connection leaves through the Primary WAN directly.')}));
		btn.textContent = on ? _('Turn off VPS bypass') : _('Turn on VPS bypass');
		btn.classList.toggle('jm-btn-primary', on);
		btn.disabled = busy || changing(state) || !mayWrite || (!on && !(state.wan && state.wan.name));
		if (!mayWrite) btn.title = _('Read-only session: changes are disabled.');
		else if (!on && !(state.wan && state.wan.name)) btn.title = _('VPS bypass needs exactly one Primary WAN to carry the traffic.');
		else btn.removeAttribute('title');
	}

	function showError(err) {
		const {message, detail} = errorParts(err);
		msg.textContent = detail ? message + ' ' + detail : message;
		msg.hidden = false;
	}

	async function toggle() {
		if (!state || busy) return;
		msg.hidden = true;
		const on = !!state.active;
		if (!on) {
			const imp = state.impact || {};
			const wan = wanTitle(state.wan);
			const lines = [
				_f('All traffic will leave through {wan} directly, not through the VPS: your public address becomes that of {wan}.', {wan}),
				imp.services && imp.services.length
					? _f('The VPN and the proxy go down: {services} are stopped.', {services: imp.services.join(', ')})
					: _('The VPN and the proxy go down.'),
				_f('Bonding stops: {wans} no longer share the traffic.', {wans: (imp.bonding_off || []).join(', ') || fmt.DASH}),
				_('WAN Policy is locked while the bypass is on; turning it off restores every setting as it was.'),
			];
			const host = b.el.closest('.jm-app') || document.body;
			if (!await confirmDialog(host, {title: _('Turn on VPS bypass?'), lines, ok: _('Turn on bypass')})) return;
		}
		busy = true;
		render();
		try {
			await ctx.api.write(on ? 'bypass.disable' : 'bypass.enable', on ? {} : {confirm: true});
		} catch (err) {
			if (!(err && err.name === 'AbortError')) showError(err);
		} finally {
			busy = false;
			await ctx.bypass.refresh();
			ctx.refresh();
		}
	}
	btn.addEventListener('click', toggle);

	const unsubscribe = ctx.bypass.subscribe(s => { state = s; render(); });
	render();
	return {el: b.el, destroy: unsubscribe};
}
