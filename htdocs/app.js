// JamMonitor app shell: tab navigation (kept in the URL hash as #tab=<id>), the error
// banner and the single poller. Hosts (the LuCI view, index.html) call mount().

import {h, replace} from './dom.js';
import * as i18n from './i18n.js';
import {createApi} from './api.js';
import * as errors from './errors.js';
import {createPoller} from './poll.js';
import {createBypass} from './bypass.js';
import * as overview from './tabs/overview.js';
import * as wan from './tabs/wan.js';
import * as interfaces from './tabs/interfaces.js';
import * as clients from './tabs/clients.js';
import * as wifi from './tabs/wifi.js';
import * as bandwidth from './tabs/bandwidth.js';
import * as diagnostics from './tabs/diagnostics.js';
import * as settings from './tabs/settings.js';
import * as placeholder from './tabs/placeholder.js';

const {_, _f, gettext_noop} = i18n;

// id, English title, module (placeholder until built). Titles are translated at mount.
const TABS = [
	['overview', gettext_noop('Overview'), overview],
	['wan-policy', gettext_noop('WAN Policy'), wan],
	['interfaces', gettext_noop('Interfaces'), interfaces],
	['clients', gettext_noop('Clients'), clients],
	['wifi', gettext_noop('Wi-Fi APs'), wifi],
	['bandwidth', gettext_noop('Bandwidth'), bandwidth],
	['diagnostics', gettext_noop('Diagnostics'), diagnostics],
	['settings', gettext_noop('Settings'), settings],
];

// Errors that no retry can fix: stop polling and say what to do.
const FATAL = new Set(['auth_denied', 'auth_missing']);

// The banner: the translated sentence for the error's code (errors.js); polls retry by themselves.
export function errorText(err) {
	if (err && err.code === 'timeout') return _('The router did not answer in time. Retrying…');
	if (err && err.code === 'network') return _('Cannot reach the router. Retrying…');
	return errors.errorText(err);
}

function readHashTab() {
	const id = new URLSearchParams(location.hash.replace(/^#/, '')).get('tab');
	return TABS.some(t => t[0] === id) ? id : 'overview';
}

function writeHashTab(id) {
	const params = new URLSearchParams(location.hash.replace(/^#/, ''));
	params.set('tab', id);
	const hash = '#' + params.toString();
	// replaceState: tab switches are not page navigations, and must not trigger hashchange loops.
	if (location.hash !== hash) history.replaceState(history.state, '', hash);
}

// Both hosts (LuCI view, index.html) get our stylesheet from here, once.
function ensureStyle() {
	const href = new URL('./style.css', import.meta.url).href;
	if ([...document.querySelectorAll('link[rel=stylesheet]')].some(l => l.href === href)) return;
	document.head.appendChild(h('link', {rel: 'stylesheet', href}));
}

export async function mount(container, {sessionId, apiBase = '/cgi-bin/jammonitor/api/', canWrite} = {}) {
	ensureStyle();
	await i18n.init();
	// VPS bypass: its state for every tab, and its banner while on (htdocs/bypass.js). Every
	// answer's X-JM-Bypass header tells it when to ask for the details.
	let bypass = null;
	const api = createApi({sessionId, apiBase, onBypass: v => bypass && bypass.observe(v)});
	bypass = createBypass({api});
	// canWrite: true/false when the host knows (LuCI ACL), undefined = the server decides per request.
	const readOnly = canWrite === false;

	const banner = h('div', {class: 'jm-banner', role: 'alert', hidden: true});
	const panel = h('div', {class: 'jm-panel'});
	const nav = h('nav', {class: 'jm-nav', 'aria-label': 'JamMonitor'});
	const root = h('div', {class: ['jm-app', readOnly && 'jm-readonly']},
		h('div', {class: 'jm-top'},
			h('h2', {class: 'jm-title', text: 'JamMonitor'}),
			readOnly ? h('span', {class: 'jm-badge jm-warn', text: _('Read-only session'), title: _('Changes are disabled for this session.')}) : null),
		banner, bypass.banner,
		h('div', {class: 'jm-body'}, nav, panel));
	i18n.applyDir(root);

	const instances = new Map(); // tab id → tab instance (kept so switching back shows data at once)
	let current = null;

	const poller = createPoller({onTick: () => current && current.tab.tick()});

	function showError(err) {
		replace(banner, h('span', {text: errorText(err)}));
		banner.hidden = false;
		banner.dataset.code = (err && err.code) || 'error';
	}
	function clearError() {
		if (!banner.hidden) { banner.hidden = true; banner.replaceChildren(); delete banner.dataset.code; }
	}

	// What this session may do, asked once for all tabs (GET session): {write: bool} or null
	// when unknown (older server, error: the server then decides per request).
	let sessionAsk = null;
	const session = () => {
		if (canWrite !== undefined || readOnly) return Promise.resolve({write: !readOnly && canWrite !== false});
		if (!sessionAsk) {
			sessionAsk = api.get('session').then(s => (s && typeof s.write === 'boolean' ? s : null), err => {
				sessionAsk = null; // ask again next time (network error, aborted)
				if (err && err.name === 'AbortError') throw err;
				return null;
			});
		}
		return sessionAsk;
	};

	const ctx = {
		api, canWrite, readOnly, session, bypass,
		// Write controls (later tabs) pass through here: disabled for read-only sessions.
		guardWrite(el) {
			if (readOnly) { el.disabled = true; el.title = _('Read-only session: changes are disabled.'); }
			return el;
		},
		onLanguage: () => remount(),
		// Polls the visible tab now (after a write), unless a poll is already in flight.
		refresh: () => poller.refresh(),
	};

	function tabFor(id) {
		let tab = instances.get(id);
		if (!tab) {
			const [, title, mod] = TABS.find(t => t[0] === id);
			tab = mod ? mod.create(ctx) : placeholder.create(ctx, _(title));
			tab.el.dataset.panel = id;
			instances.set(id, tab);
			panel.appendChild(tab.el);
		}
		return tab;
	}

	function show(id) {
		if (current && current.id === id) return;
		for (const b of nav.children) {
			const on = b.dataset.tab === id;
			b.classList.toggle('jm-active', on);
			if (on) b.setAttribute('aria-current', 'page'); else b.removeAttribute('aria-current');
		}
		const tab = tabFor(id);
		if (current && current.tab.hide) current.tab.hide(); // e.g. cancel a drag, close popups
		for (const t of instances.values()) t.el.hidden = t !== tab;
		current = {id, tab};
		writeHashTab(id);
		clearError();
		// Only the visible tab polls; tabs without data (placeholders) stop the poller.
		poller.set(tab.refresh ? {
			get intervalMs() { return tab.intervalMs; }, // a tab may change its pace (a job running)
			run: async signal => { await tab.refresh(signal); clearError(); },
			onError: err => { showError(err); return !FATAL.has(err && err.code); },
		} : null);
	}

	for (const [id, title] of TABS)
		nav.appendChild(id === 'settings'
			// the gear carries the update badge (GET update reads the last daily check: no network)
			? h('button', {type: 'button', class: 'jm-tab', 'data-tab': id, onclick: () => show(id)},
				h('span', {class: 'jm-gear', 'aria-hidden': 'true', text: '⚙ '}), _(title),
				h('span', {class: 'jm-update-dot', hidden: true, text: '●', title: _('An update is available')}))
			: h('button', {type: 'button', class: 'jm-tab', 'data-tab': id, text: _(title), onclick: () => show(id)}));
	ctx.setUpdateBadge = on => {
		const b = nav.querySelector('[data-tab="settings"]');
		b.classList.toggle('jm-has-update', on);
		b.querySelector('.jm-update-dot').hidden = !on;
	};
	api.get('update').then(d => ctx.setUpdateBadge(!!(d && d.available)), () => {});

	const onHash = () => show(readHashTab());
	window.addEventListener('hashchange', onHash);

	container.replaceChildren(root);
	show(readHashTab());

	function unmount() {
		poller.destroy();
		bypass.destroy();
		window.removeEventListener('hashchange', onHash);
		for (const t of instances.values()) t.destroy();
		instances.clear();
		root.remove();
	}

	// Language change: rebuild everything with the new strings and direction.
	async function remount() {
		unmount();
		const again = await mount(container, {sessionId, apiBase, canWrite});
		handle.unmount = again.unmount;
	}

	const handle = {unmount, api};
	return handle;
}
