// Bootstrap for index.html (the page outside LuCI: make run, browser tests). The session comes
// from a login form that asks rpcd through uhttpd's /ubus JSON-RPC endpoint exactly as LuCI logs
// in (`session login` with the null session), or from `#sid=<32 hex>` in the fragment (taken
// once, then stripped from the address bar and history). Either way it is kept in
// sessionStorage (this tab only); "Log out" destroys it on the router (`session destroy`).

import {mount} from './app.js';
import {h} from './dom.js';
import {_, init, applyDir, _f} from './i18n.js';

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

const NULL_SID = '00000000000000000000000000000000';

// One JSON-RPC call to uhttpd's /ubus; the ubus status and reply of `result: [status, reply]`.
async function ubusCall(sid, object, method, args) {
	const res = await fetch('/ubus', {
		method: 'POST', cache: 'no-store', credentials: 'omit',
		headers: {'Content-Type': 'application/json'},
		body: JSON.stringify({jsonrpc: '2.0', id: 1, method: 'call', params: [sid, object, method, args]}),
	});
	const json = await res.json().catch(() => null);
	if (json && Array.isArray(json.result)) return {status: json.result[0], reply: json.result[1]};
	if (json && json.error) return {status: -1, reply: null, error: json.error.message};
	throw new Error('HTTP ' + res.status);
}

async function login(username, password) {
	const {status, reply, error} = await ubusCall(NULL_SID, 'session', 'login', {username, password});
	if (status === 0 && reply && SID_RE.test(reply.ubus_rpc_session || '')) return reply.ubus_rpc_session;
	// rpcd answers UBUS_STATUS_PERMISSION_DENIED (6) for a wrong user or password
	if (status === 6) throw new Error(_('Wrong user name or password.'));
	throw new Error(_f('The router refused the login: {message}', {message: error || 'ubus status ' + status}));
}

function logout(sid) {
	try { sessionStorage.removeItem(KEY); } catch { /* ignore */ }
	// Best effort: the session ends on the router too (needs session destroy in the login's ACL,
	// which LuCI's luci-base grants).
	// (uhttpd fills ubus_rpc_session from the call's own session; passing it is refused)
	return ubusCall(sid, 'session', 'destroy', {}).catch(() => null)
		.finally(() => { location.hash = ''; location.reload(); });
}

function loginForm() {
	const user = h('input', {type: 'text', name: 'username', autocomplete: 'username', required: '', value: 'root'});
	const pass = h('input', {type: 'password', name: 'password', autocomplete: 'current-password'});
	const msg = h('p', {class: 'jm-login-msg', role: 'alert'});
	const button = h('button', {type: 'submit', class: 'jm-btn jm-btn-primary', text: _('Log in')});
	const form = h('form', {class: 'jm-login'},
		h('label', {}, h('span', {text: _('User name')}), user),
		h('label', {}, h('span', {text: _('Password')}), pass),
		button, msg);
	form.addEventListener('submit', async ev => {
		ev.preventDefault();
		button.disabled = true;
		msg.textContent = '';
		try {
			const sid = await login(user.value, pass.value);
			try { sessionStorage.setItem(KEY, sid); } catch { /* this load only */ }
			await start(sid);
		} catch (e) {
			msg.textContent = e.message;
			button.disabled = false;
			pass.select();
		}
	});
	return form;
}

async function start(sid) {
	const out = h('button', {type: 'button', class: 'jm-btn jm-logout', text: _('Log out')});
	out.addEventListener('click', () => logout(sid));
	document.body.prepend(h('div', {class: 'jm-standalone-bar'}, out));
	await mount(container, {sessionId: sid, apiBase: '/cgi-bin/jammonitor/api/'});
}

const container = document.getElementById('jammonitor');
const sid = takeSid();
if (sid) {
	await start(sid);
} else {
	// No unauthenticated dashboard: log in as on the router (LuCI's users, rpcd's sessions).
	await init();
	const box = h('div', {class: 'jm-app jm-nosid'},
		h('h2', {class: 'jm-title', text: 'JamMonitor'}),
		h('p', {text: _('Log in with a router user (make run prints the demo logins).')}),
		loginForm(),
		h('p', {class: 'jm-muted', text: _('On the router, open LuCI and go to Status → JamMonitor.')}));
	applyDir(box);
	container.replaceChildren(box);
	box.querySelector('input[type=password]').focus();
}
