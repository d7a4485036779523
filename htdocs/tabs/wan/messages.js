// Words for failed writes. The server's own message is shown as it is (it names the cause:
// bypass active, busy, change rolled back, the field at fault); only transport failures,
// where the outcome is unknown, get our wording.

import {_, _f} from '../../i18n.js';
import {errorText} from '../../errors.js';

export function writeError(err) {
	const code = err && err.code;
	if (code === 'timeout')
		return _('The router did not answer in time. The change may still be applied: check again after the next refresh.');
	if (code === 'network') return _('Cannot reach the router. Whether the change was applied shows after the next refresh.');
	if (err && err.field) return _f('Not saved: {field}: {message}', {field: err.field, message: errorText(err)});
	return _f('Not saved: {message}', {message: errorText(err)});
}
