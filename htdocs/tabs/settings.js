// Settings tab. For now: the language choice (stored in this browser, applied at once without
// reloading the page); update and about come in a later release. Polls nothing.

import {h} from '../dom.js';
import {_, LANGUAGES, SHIPPED, storedChoice, storeChoice} from '../i18n.js';

export function create({onLanguage}) {
	const choice = storedChoice();
	const select = h('select', {id: 'jm-lang', onchange: () => { storeChoice(select.value); onLanguage(); }},
		h('option', {value: 'auto', text: _('Automatic (browser language)'), selected: choice === 'auto'}),
		LANGUAGES.filter(([code]) => SHIPPED.has(code)).map(([code, name]) =>
			h('option', {value: code, lang: code, text: name, selected: choice === code})));
	const el = h('div', {class: 'jm-settings', 'data-panel': 'settings'},
		h('section', {class: 'jm-block'},
			h('div', {class: 'jm-block-head'}, h('h3', {text: _('Language')})),
			h('div', {class: 'jm-block-body'},
				h('label', {for: 'jm-lang', class: 'jm-muted', text: _('Language of this page (saved in this browser)')}),
				select)),
		h('p', {class: 'jm-note', text: _('Update and about settings are coming in a later release.')}));
	return {el, intervalMs: 0, refresh: null, tick() {}, destroy() {}};
}
