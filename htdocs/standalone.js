// Bootstrap for index.html: take `#sid=<32 hex>` from the fragment once, keep it in
// sessionStorage (this tab only), strip it from the address bar and history, then mount.

import {mount} from './app.js';
import {h} from './dom.js';
import {_, init, applyDir} from './i18n.js';

const KEY = 'jammonitor.sid';
const SID_RE = /^[0-9a-f]{32}$/;

function takeSid() {
	const params = new URLSearchParams(location.hash.replace(/^#/, ''));
	const fromHash = params.get('sid');
	if (fromHash !== null) {
		params.delete('sid');
		const rest = params.toString();
		history.replaceState(history.state, '', location.pathname + location.search + (rest ? '#' + rest : ''));
		if (SID_RE.test(fromHash)) {
			try { sessionStorage.setItem(KEY, fromHash); } catch { /* private mode: this load only */ }
			return fromHash;
		}
	}
	try {
		const stored = sessionStorage.getItem(KEY);
		if (stored && SID_RE.test(stored)) return stored;
	} catch { /* ignore */ }
	return SID_RE.test(fromHash || '') ? fromHash : null;
}

const container = document.getElementById('jammonitor');
const sid = takeSid();
if (sid) {
	await mount(container, {sessionId: sid, apiBase: '/cgi-bin/jammonitor/api/'});
} else {
	// No unauthenticated dashboard: explain how to get a session.
	await init();
	const box = h('div', {class: 'jm-app jm-nosid'},
		h('h2', {class: 'jm-title', text: 'JamMonitor'}),
		h('p', {text: _('This page needs a LuCI session id.')}),
		h('ul', {},
			h('li', {text: _('On the router, open LuCI and go to Status → JamMonitor.')}),
			h('li', {text: _('With make run, open the URL it prints: it ends in #sid= followed by 32 hex digits.')}),
			h('li', {text: _('Or create a session with ubus call session login and open this page with #sid= followed by its ubus_rpc_session.')})));
	applyDir(box);
	container.replaceChildren(box);
}
