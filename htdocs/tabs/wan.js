// WAN Policy tab: four zones (Primary = multipath master, Bonded = on, Standby = backup,
// Disabled = off); a WAN moves by pointer drag (mouse, pen, touch) or by keyboard.
//
// The predecessor flickered on every poll and duplicated rows when a poll raced a drag.
// Here:
//  - one row element per WAN, kept in a Map by name: polls update text in place and move a
//    row only when its zone changes, so a row can never exist twice and nothing blinks;
//  - a move is optimistic: `overlay` holds the roles shown until a poll that *started after*
//    the write settled comes back. Polls still running from before (or during) the write
//    update live status only, never roles, so they cannot move a row back;
//  - one change at a time: while a write is in flight nothing can be picked up;
//  - success shows the server's final `roles` mapping; failure puts back the roles seen
//    before the move and shows the server's message (bypass_active, busy, rolled back);
//  - while a drag or keyboard pick-up is active, polls do not re-layout rows.

import {h, replace, setText} from '../dom.js';
import {_, _f, gettext_noop} from '../i18n.js';
import * as fmt from '../format.js';
import {badge, configErrors} from '../ui.js';
import {createDnd} from '../dnd.js';
import {openEdit, openDetails, wanTitle, WRITE_TIMEOUT_MS} from './wan/edit.js';
import {createAdvanced} from './wan/advanced.js';
import {writeError} from './wan/messages.js';
import {uid} from '../dialog.js';
import {cardPart, openHistory} from './wan/history.js';

export const INTERVAL_MS = 5000;
// Link history (wan.history) changes by the minute: fetched within the same poll, at most this often.
const HISTORY_MS = 60000;
const OK_MESSAGE_MS = 8000;

const ZONES = [
	['master', gettext_noop('Primary'), gettext_noop('The main connection: all MPTCP traffic starts here. Only one.')],
	['on', gettext_noop('Bonded'), gettext_noop('Aggregated with Primary for combined bandwidth.')],
	['backup', gettext_noop('Standby'), gettext_noop('Takes over when Primary and Bonded links fail.')],
	['off', gettext_noop('Disabled'), gettext_noop('Turned off.')],
];
const ROLE_KEYS = ZONES.map(z => z[0]);
const zoneTitle = role => _((ZONES.find(z => z[0] === role) || [null, role])[1]);

export function create(ctx) {
	const {api} = ctx;
	const instrId = uid('wan-instr');
	const head = h('div', {class: 'jm-tab-head'}, h('h3', {text: _('WAN Policy')}), h('span', {class: 'jm-age'}));
	const age = head.lastChild;
	const lockBanner = h('div', {class: 'jm-wan-lock', role: 'status', hidden: true},
		h('strong', {text: _('WAN policy is locked while the VPS bypass is active.')}), ' ',
		h('span', {text: _('Roles and settings cannot change until the bypass is turned off, because turning it off restores the roles it recorded.')}));
	const roNote = h('p', {class: 'jm-note jm-wan-ro', hidden: true, text: _('Read-only session: you can view WAN Policy but not change it.')});
	// Results of changes. Not a live region itself: say() speaks through `live`, so a screen
	// reader hears each result once.
	const msg = h('div', {class: 'jm-wan-msg', hidden: true});
	const cfgErr = configErrors();
	const noWans = h('p', {class: 'jm-note', hidden: true, text: _('No WAN interface is managed. Choose some under Advanced settings.')});
	const live = h('div', {class: 'jm-sr-only', 'aria-live': 'assertive', 'aria-atomic': 'true'});
	const instructions = h('p', {class: 'jm-note jm-wan-help', id: instrId,
		text: _('Drag a WAN by its handle to another zone, or focus it and press Space, choose a zone with the arrow keys or 1 to 4, and press Enter. Dropping a WAN on Primary moves the current Primary to Bonded.')});

	const zones = ZONES.map(([role, title, hint]) => {
		const list = h('div', {class: 'jm-zone-list', role: 'list', 'aria-label': _(title)});
		const count = h('span', {class: 'jm-zone-count jm-muted'});
		const empty = h('p', {class: 'jm-zone-empty', text: _('Drop a WAN here')});
		const el = h('section', {class: 'jm-zone', 'data-role': role},
			h('div', {class: 'jm-zone-head'}, h('h4', {text: _(title)}), count),
			h('p', {class: 'jm-zone-hint', text: _(hint)}),
			list, empty);
		return {key: role, el, list, count, empty, label: _(title)};
	});
	const zoneBox = h('div', {class: 'jm-zones', 'aria-describedby': instrId}, zones.map(z => z.el));
	const loading = h('p', {class: 'jm-note', text: _('Loading…')});

	const el = h('div', {class: 'jm-wan', 'data-panel': 'wan-policy'},
		head, cfgErr.el, lockBanner, roNote, msg, loading, noWans, zoneBox, instructions, live);
	zoneBox.hidden = true;

	let data = null, receivedAt = 0;
	let hist = null, histAt = -Infinity; // wan.history, brief form (every WAN)
	let overlay = null;   // {name: role} shown instead of data's roles (see top of file)
	let pending = null;   // {names: Set} while a role change is in flight
	let epoch = 0;        // bumps when a write starts and when it settles
	let canWrite = ctx.canWrite; // undefined: the server decides per request
	let sessionAsked = ctx.canWrite !== undefined || ctx.readOnly;
	let msgTimer = null;
	let dialog = null;    // the open edit/details dialog
	const rows = new Map(); // name → row parts

	const writable = () => !ctx.readOnly && canWrite !== false;
	const locked = () => !!(data && data.bypass_active);

	const advanced = createAdvanced({
		api, host: el, writable,
		onSaved: () => { say(_('Advanced settings saved.'), 'ok'); ctx.refresh && ctx.refresh(); },
	});
	el.appendChild(advanced.el);

	function announce(text) {
		// Re-set so the same text is announced again.
		live.textContent = '';
		requestAnimationFrame(() => { live.textContent = text; });
	}

	// Shows (and announces) the result of a change; `spoken` replaces the text for screen readers.
	function say(text, kind, spoken = text) {
		clearTimeout(msgTimer);
		if (!text) { msg.hidden = true; msg.replaceChildren(); return; }
		announce(spoken);
		replace(msg, h('span', {text}),
			h('button', {type: 'button', class: 'jm-btn jm-btn-small', 'aria-label': _('Dismiss'), title: _('Dismiss'), text: '×', onclick: () => say(null)}));
		msg.dataset.kind = kind;
		msg.hidden = false;
		if (kind === 'ok') msgTimer = setTimeout(() => say(null), OK_MESSAGE_MS);
	}

	const dnd = createDnd({
		root: zoneBox,
		itemSelector: '.jm-wan-row',
		handleSelector: '.jm-handle',
		zones: () => zones,
		zoneOf: item => roleOf(item.dataset.wan),
		itemLabel: item => rowTitle(item.dataset.wan),
		canStart: () => {
			if (locked()) return _('WAN policy is locked while the VPS bypass is active.');
			if (!writable()) return _('Read-only session: changes are disabled.');
			if (pending) return _('Wait: a change is being applied.');
			return true;
		},
		onDrop: (item, role) => move(item.dataset.wan, role),
		onEnd: () => render(),
		announce,
	});

	// ---- data ----

	const wanList = () => (data && Array.isArray(data.wans) ? data.wans : []);
	const wanByName = name => wanList().find(w => w.name === name);
	function roleOf(name) {
		const r = (overlay && overlay[name]) || (wanByName(name) || {}).role;
		return ROLE_KEYS.includes(r) ? r : 'off';
	}
	const rowTitle = name => { const w = wanByName(name); return w ? wanTitle(w) : name; };
	const shownRoles = () => Object.fromEntries(wanList().map(w => [w.name, roleOf(w.name)]));

	async function refresh(signal) {
		const startEpoch = epoch, startedPending = !!pending;
		const d = await api.get('wan', {signal});
		data = d && typeof d === 'object' ? d : {};
		receivedAt = performance.now();
		// Only a poll that began after the last write settled may replace the shown roles.
		if (!startedPending && !pending && startEpoch === epoch) overlay = null;
		render();
		advanced.update(data);
		tick();
		if (!sessionAsked) await askSession(signal);
		if (performance.now() - histAt >= HISTORY_MS) {
			histAt = performance.now();
			try {
				hist = await api.get('wan.history', {signal});
			} catch (err) {
				if (err && err.name === 'AbortError') histAt = -Infinity;
			}
			render();
		}
	}

	const briefOf = name => (hist && Array.isArray(hist.wans) ? hist.wans.find(b => b.name === name) : null);

	// What this session may do (GET session). Unknown (older server, error): the server decides.
	async function askSession(signal) {
		sessionAsked = true;
		try {
			const s = await ctx.session();
			if (s) canWrite = s.write;
		} catch (err) {
			if (err && err.name === 'AbortError') sessionAsked = false; // ask again next time
		}
		render();
	}

	// ---- rendering ----

	function makeRow(name) {
		const nameBtn = h('button', {type: 'button', class: 'jm-link jm-wan-name', onclick: () => openEditFor(name)});
		const sub = h('span', {class: 'jm-muted jm-wan-ifname'});
		const status = h('span', {class: 'jm-badge'});
		const pend = h('span', {class: 'jm-badge jm-info jm-wan-pending', text: _('Applying…'), hidden: true});
		const dev = h('span', {class: 'jm-wan-dev'});
		const ipBtn = h('button', {type: 'button', class: 'jm-link jm-wan-ip', onclick: () => openDetailsFor(name)});
		const lat = h('span', {class: 'jm-wan-lat', title: _('Latency measured by omr-tracker')});
		const histPart = cardPart({title: () => rowTitle(name), onOpen: () => openHistoryFor(name)});
		const handle = h('span', {class: 'jm-handle', 'aria-hidden': 'true', title: _('Drag to another zone'), text: '⠿'});
		const el = h('div', {class: 'jm-wan-row', role: 'listitem', tabindex: 0, 'data-wan': name,
			'aria-roledescription': _('movable WAN'), 'aria-describedby': instrId},
			handle,
			h('div', {class: 'jm-wan-main'},
				h('div', {class: 'jm-wan-line'}, nameBtn, sub, h('span', {class: 'jm-badges'}, pend, status)),
				h('div', {class: 'jm-wan-line jm-wan-facts'}, dev, ipBtn, lat),
				histPart.el));
		const r = {el, nameBtn, sub, status, pend, dev, ipBtn, lat, histPart, statusKey: ''};
		rows.set(name, r);
		return r;
	}

	function updateRow(r, w) {
		const title = wanTitle(w);
		setText(r.nameBtn, title);
		r.nameBtn.setAttribute('aria-label', _f('Edit {wan}', {wan: title}));
		setText(r.sub, w.label && w.label !== w.name ? w.name : '');
		const [text, kind] = w.disabled ? [_('Disabled'), 'muted'] : w.up === true ? [_('Connected'), 'ok'] : w.up === false ? [_('Disconnected'), 'bad'] : [_('Unknown'), 'muted'];
		if (r.statusKey !== kind + text) { // in place: the badge element never changes
			r.statusKey = kind + text;
			r.status.className = 'jm-badge jm-' + kind + ' jm-wan-status';
			r.status.textContent = text;
		}
		setText(r.dev, w.device || fmt.DASH);
		setText(r.ipBtn, w.ipv4 ? w.ipv4 + (w.prefix != null ? '/' + w.prefix : '') : _('No IPv4'));
		r.ipBtn.setAttribute('aria-label', _f('Address details of {wan}', {wan: title}));
		setText(r.lat, fmt.ms(w.latency_ms));
		r.histPart.update(briefOf(w.name), Date.now() / 1000);
		const isPending = !!(pending && pending.names.has(w.name));
		r.el.classList.toggle('jm-pending', isPending);
		r.pend.hidden = !isPending;
		const label = _f('{wan}, {zone}, {status}', {wan: title, zone: zoneTitle(roleOf(w.name)), status: text});
		if (r.el.getAttribute('aria-label') !== label) r.el.setAttribute('aria-label', label);
		// Not aria-disabled: that would also mark the name and address buttons inside as disabled.
		r.el.classList.toggle('jm-nodrag', locked() || !writable() || !!pending);
	}

	function render() {
		if (!data) return;
		loading.hidden = true;
		zoneBox.hidden = false;
		const wans = wanList();
		cfgErr.update(data.errors);
		noWans.hidden = wans.length > 0 || !Array.isArray(data.wans);
		const seen = new Set();
		for (const w of wans) {
			if (typeof w.name !== 'string' || seen.has(w.name)) continue;
			seen.add(w.name);
			updateRow(rows.get(w.name) || makeRow(w.name), w);
		}
		for (const [name, r] of rows) {
			if (!seen.has(name)) { r.histPart.destroy(); r.el.remove(); rows.delete(name); }
		}
		const isLocked = locked();
		if (isLocked && dnd.active()) dnd.cancel();
		lockBanner.hidden = !isLocked;
		zoneBox.classList.toggle('jm-locked', isLocked);
		zoneBox.inert = isLocked;
		zoneBox.setAttribute('aria-busy', pending ? 'true' : 'false');
		zoneBox.classList.toggle('jm-busy', !!pending);
		roNote.hidden = writable();
		advanced.setLocked(isLocked);
		if (!dnd.active()) layout(wans, seen);
	}

	// Puts every row into its zone, in the server's order, touching only what moved.
	function layout(wans, names) {
		const focused = document.activeElement;
		for (const z of zones) {
			const want = wans.filter(w => names.has(w.name) && roleOf(w.name) === z.key).map(w => rows.get(w.name).el);
			want.forEach((rowEl, i) => {
				if (z.list.children[i] !== rowEl) z.list.insertBefore(rowEl, z.list.children[i] || null);
			});
			setText(z.count, String(want.length));
		}
		for (const z of zones) z.empty.hidden = z.list.children.length > 0;
		// A row moved by insertBefore loses focus; give it back (keyboard users keep their place).
		if (focused && focused !== document.activeElement && focused.isConnected && el.contains(focused)) focused.focus({preventScroll: true});
	}

	// ---- writes ----

	async function move(name, role) {
		if (pending) { announce(_('Wait: a change is being applied.')); return; }
		const before = shownRoles();
		if (before[name] === role) return;
		const title = rowTitle(name);
		if (before[name] === 'master') {
			const t = _f('Primary cannot be empty: drop another WAN on Primary instead, and {wan} moves to Bonded.', {wan: title});
			say(t, 'error');
			render();
			return;
		}
		const next = {...before, [name]: role};
		const moved = new Set([name]);
		if (role === 'master') {
			for (const [n, r] of Object.entries(before)) if (r === 'master' && n !== name) { next[n] = 'on'; moved.add(n); }
		}
		overlay = next;
		pending = {names: moved};
		epoch++;
		say(null);
		render();
		announce(_f('Moving {wan} to {zone}…', {wan: title, zone: zoneTitle(role)}));
		try {
			const res = await api.write('wan.roles', {roles: {[name]: role}}, {timeoutMs: WRITE_TIMEOUT_MS,
				onProgress: job => job.state === 'running' && job.message && say(_f('Applying on the router: {step}', {step: job.message}))});
			const final = res && res.roles && typeof res.roles === 'object' ? res.roles : next;
			overlay = {...final};
			const demoted = [...moved].filter(n => n !== name && final[n] !== before[n]);
			const text = [_f('{wan} is now {zone}.', {wan: title, zone: zoneTitle(final[name] || role)}),
				...demoted.map(n => _f('{wan} moved to {zone}.', {wan: rowTitle(n), zone: zoneTitle(final[n])}))].join(' ');
			say(text, 'ok');
		} catch (err) {
			overlay = before; // what the router had; the next poll confirms
			const text = writeError(err);
			say(text, 'error', _f('{wan} was not moved.', {wan: title}) + ' ' + text);
		} finally {
			pending = null;
			epoch++;
			render();
			ctx.refresh && ctx.refresh();
		}
	}

	function openEditFor(name) {
		const w = wanByName(name);
		if (!w || dialog) return;
		dialog = openEdit(el, {
			api, wan: w, mtuRange: (data.choices && data.choices.mtu) || undefined,
			writable: () => writable() && !locked(),
			onSaved: text => { say(text, 'ok'); ctx.refresh && ctx.refresh(); },
		});
		dialog.el.addEventListener('close', () => { dialog = null; });
	}

	function openHistoryFor(name) {
		if (!wanByName(name) || dialog) return;
		dialog = openHistory(el, {api, wan: name, title: rowTitle(name)});
		dialog.el.addEventListener('close', () => { dialog = null; });
	}

	function openDetailsFor(name) {
		const w = wanByName(name);
		if (!w || dialog) return;
		dialog = openDetails(el, w);
		dialog.el.addEventListener('close', () => { dialog = null; });
	}

	function tick() {
		if (!data) return;
		const elapsed = (performance.now() - receivedAt) / 1000;
		setText(age, fmt.age(elapsed));
		el.classList.toggle('jm-stale', elapsed * 1000 > 3 * INTERVAL_MS);
	}

	function hide() {
		dnd.cancel();
		if (dialog) dialog.close();
	}

	return {
		el, intervalMs: INTERVAL_MS, refresh, tick, hide,
		destroy() { hide(); dnd.destroy(); clearTimeout(msgTimer); for (const r of rows.values()) r.histPart.destroy(); },
	};
}
