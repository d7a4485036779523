// Words for errors. Every API error carries a stable `code` (src/error.rs; `field` for bad
// input); the page shows our translated sentence for the code, with the server's English text
// as the detail (it names the exact cause, and is what a bug report should quote).
// scripts/i18n.py check fails when src/ can send a code that has no sentence here.

import {_, _f, gettext_noop} from './i18n.js';

export const MESSAGES = {
	// Sent by the server (src/).
	apply_failed: gettext_noop('Applying the change failed; the router rolled it back.'),
	auth_denied: gettext_noop('This session has no JamMonitor permission. Log out of LuCI and log in again: sessions opened before JamMonitor was installed lack it.'),
	auth_missing: gettext_noop('No LuCI session: open JamMonitor from LuCI (Status → JamMonitor).'),
	auth_unavailable: gettext_noop('The router\'s session service did not answer, so this login cannot be checked. Try again in a moment.'),
	auth_readonly: gettext_noop('This session may only read: changes need a user with write access.'),
	bad_origin: gettext_noop('The request came from another site and was refused.'),
	bad_request: gettext_noop('The router did not understand the request.'),
	busy: gettext_noop('Another change is in progress.'),
	bypass_active: gettext_noop('VPS bypass is active: WAN changes wait until it is turned off.'),
	bypass_inactive: gettext_noop('VPS bypass is not on.'),
	config_unparseable: gettext_noop('A configuration file on the router cannot be read, so nothing was changed.'),
	conflict: gettext_noop('The router refused the change: it conflicts with the current settings.'),
	internal: gettext_noop('The router could not complete the request.'),
	interrupted: gettext_noop('The change was interrupted before it was saved; nothing was changed.'),
	invalid_field: gettext_noop('This value is not accepted.'),
	method_not_allowed: gettext_noop('The router did not understand the request.'),
	no_primary: gettext_noop('VPS bypass needs exactly one Primary WAN to carry the traffic.'),
	not_found: gettext_noop('The router does not know this item.'),
	payload_too_large: gettext_noop('The request is too large.'),
	request_timeout: gettext_noop('The request did not reach the router in time.'),
	speedtest_bypass: gettext_noop('VPS bypass is active: speed tests wait until it is turned off.'),
	speedtest_running: gettext_noop('A speed test is already running: wait for it or cancel it.'),
	wan_down: gettext_noop('This WAN has no IPv4 address (it is down): nothing to test.'),
	wan_write_running: gettext_noop('A WAN change is being applied: start the speed test when it has finished.'),
	// Made by the page (htdocs/api.js).
	timeout: gettext_noop('The router did not answer in time.'),
	network: gettext_noop('Cannot reach the router.'),
};

// {message: translated sentence, detail: the server's own text or ''}.
export function errorParts(err) {
	const code = err && err.code;
	const server = err ? String(err.message || (err.code ? '' : err)) : '';
	let message;
	if (code && Object.prototype.hasOwnProperty.call(MESSAGES, code)) message = _(MESSAGES[code]);
	else if (code && /^http_\d+$/.test(code)) message = _f('The router answered with HTTP status {status}.', {status: code.slice(5)});
	else message = _('Something went wrong.');
	// Our own transport errors have no server text worth repeating.
	const detail = code === 'timeout' || code === 'network' || code === 'auth_missing' || /^http_/.test(code || '') ? '' : server;
	return {message, detail};
}

// One line: "Translated sentence (server text)".
export function errorText(err) {
	const {message, detail} = errorParts(err);
	return detail && detail !== message ? _f('{message} ({detail})', {message, detail}) : message;
}
