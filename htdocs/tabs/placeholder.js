// The panel shown for tabs that are not built yet. It polls nothing.

import {h} from '../dom.js';
import {_} from '../i18n.js';

export function create(_ctx, title) {
	const el = h('div', {class: 'jm-placeholder', 'data-panel': 'placeholder'},
		h('h3', {text: title}),
		h('p', {class: 'jm-note', text: _('This part of JamMonitor is coming in a later release.')}));
	return {el, intervalMs: 0, refresh: null, tick() {}, destroy() {}};
}
