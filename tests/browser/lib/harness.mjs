// Shared helpers for the browser tests: the server environment (.run/server.env, sourced
// by run.sh), one headless Chromium (Debian's, never a downloaded one), pages that record
// every console error, page error and failed request, and the rig's ground truth.

import {execFileSync} from 'node:child_process';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {chromium} from 'playwright-core';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const SCREENSHOTS = path.join(REPO, 'docs/screenshots');

function need(name) {
	const v = process.env[name];
	if (!v) throw new Error(`${name} is not set: run tests/browser/run.sh (it sources .run/server.env from tests/rig/serve.sh)`);
	return v;
}

export const env = {
	get url() { return need('JM_URL').replace(/\/+$/, ''); },
	get sid() { return need('JM_SID'); },
	get sidRo() { return need('JM_SID_RO'); },
	// the demo logins of the server's rpcd (tests/bed/rpcd/rpcd.config)
	get user() { return need('JM_USER'); },
	get pass() { return need('JM_PASS'); },
	get userRo() { return need('JM_USER_RO'); },
	get passRo() { return need('JM_PASS_RO'); },
};

// One JSON-RPC call to uhttpd's /ubus, as LuCI makes it: {status, reply} of `result`.
export async function ubus(sid, object, method, args = {}) {
	const base = env.url.replace(/\/luci-static\/.*$/, '');
	const res = await fetch(base + '/ubus', {
		method: 'POST', headers: {'Content-Type': 'application/json'},
		body: JSON.stringify({jsonrpc: '2.0', id: 1, method: 'call', params: [sid, object, method, args]}),
	});
	const json = await res.json();
	if (Array.isArray(json.result)) return {status: json.result[0], reply: json.result[1]};
	// a JSON-RPC error: uhttpd refused the call itself (e.g. -32002 "Access denied" by the ACL)
	if (json.error) return {status: null, reply: null, error: json.error};
	throw new Error('/ubus: ' + JSON.stringify(json));
}

// A fresh rpcd session through /ubus `session login` (the null session may only log in).
export async function login(user = env.user, pass = env.pass) {
	const {status, reply} = await ubus('00000000000000000000000000000000', 'session', 'login', {username: user, password: pass});
	if (status !== 0) throw new Error(`login of ${user} failed: ubus status ${status}`);
	return reply.ubus_rpc_session;
}

// index.html without a session: the login form.
export function loginUrl() {
	return /\.html$/.test(env.url) ? env.url : env.url + '/luci-static/resources/jammonitor/index.html';
}

// index.html of the app as the server publishes it.
export function appUrl(sid, extraHash = '') {
	const base = /\.html$/.test(env.url) ? env.url : env.url + '/luci-static/resources/jammonitor/index.html';
	return base + '#sid=' + sid + (extraHash ? '&' + extraHash : '');
}

export async function launch() {
	return chromium.launch({
		executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
		args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
	});
}

// A page that records problems. allowConsole: regexes for console errors a test expects;
// allowStatus: HTTP statuses it expects (e.g. 403 for a bogus session).
export async function openPage(browser, {width = 1280, height = 900, allowConsole = [], allowStatus = []} = {}) {
	const context = await browser.newContext({viewport: {width, height}});
	const page = await context.newPage();
	const problems = [];
	const requests = [];
	page.on('console', m => {
		if (m.type() === 'error' && !allowConsole.some(re => re.test(m.text()))) problems.push('console error: ' + m.text());
	});
	page.on('pageerror', e => problems.push('page error: ' + e.message));
	// A tab switch aborts the previous tab's read in flight (htdocs/poll.js, by design): a GET the
	// page itself aborted is not a failure. Any other failure, and any aborted write, is.
	page.on('requestfailed', r => {
		const err = r.failure()?.errorText;
		if (r.method() === 'GET' && err === 'net::ERR_ABORTED' && /\/api\/\S+$/.test(r.url())) return;
		problems.push(`request failed: ${r.method()} ${r.url()} ${err}`);
	});
	page.on('response', r => {
		if (r.status() >= 400 && !allowStatus.includes(r.status())) problems.push(`HTTP ${r.status()}: ${r.url()}`);
	});
	page.on('request', r => requests.push({t: Date.now(), url: r.url()}));
	return {context, page, problems, requests, close: () => context.close()};
}

// Runs a command and returns stdout (throws with stderr on failure).
export function sh(cmd, args) {
	return execFileSync(cmd, args, {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']});
}

// IPv4 addresses of the simulated router: {dev: [{address, prefix}]}.
export function rigAddrs() {
	const out = {};
	for (const l of JSON.parse(sh('ip', ['-n', 'jm-router', '-j', 'addr', 'show']))) {
		out[l.ifname] = (l.addr_info || []).filter(a => a.family === 'inet').map(a => ({address: a.local, prefix: a.prefixlen}));
	}
	return out;
}

// rx/tx byte counters of one router device.
export function rigStats(dev) {
	const [l] = JSON.parse(sh('ip', ['-n', 'jm-router', '-j', '-s', 'link', 'show', 'dev', dev]));
	return {rx: l.stats64.rx.bytes, tx: l.stats64.tx.bytes};
}

// The API answer itself (to compare names/labels the page shows with what the server says).
export async function api(action, sid = env.sid) {
	const base = env.url.replace(/\/luci-static\/.*$/, '');
	const res = await fetch(base + '/cgi-bin/jammonitor/api/' + action, {headers: {Authorization: 'Bearer ' + sid}});
	const json = await res.json();
	if (!json.ok) throw new Error(`${action}: ${json.error?.code} ${json.error?.message}`);
	return json.data;
}

// Non-kernel routes through a router device (the kernel drops them when the link goes down;
// nothing in the rig plays netifd to put them back, so the test does).
export function rigRoutesVia(dev) {
	return sh('ip', ['-n', 'jm-router', '-o', 'route', 'show', 'table', 'all'])
		.split('\n')
		.filter(l => new RegExp(`\\bdev ${dev}\\b`).test(l) && !/\btable local\b/.test(l) && !/\bproto kernel\b/.test(l));
}

export function restoreRoutes(lines) {
	for (const l of lines) {
		const args = l.replace(/\b(linkdown|dead)\b/g, '').trim().split(/\s+/);
		try { sh('ip', ['-n', 'jm-router', 'route', 'replace', ...args]); } catch (e) { console.error('route restore:', l, e.stderr || e.message); }
	}
}

// "973.2 MiB" → bytes (approximate: the page rounds).
export function parseBytes(text) {
	const m = /([\d.,]+)\s*(B|KiB|MiB|GiB|TiB)/.exec(text);
	if (!m) return NaN;
	const mult = {B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4}[m[2]];
	return parseFloat(m[1].replace(/,/g, '')) * mult;
}
