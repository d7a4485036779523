// Device types (the server's `types` list): label and a small icon. Unknown ids fall back
// to their raw id shown as text (never as markup).

import {_, gettext_noop} from '../../i18n.js';

const TYPES = {
	phone: [gettext_noop('Phone'), '📱'],
	tablet: [gettext_noop('Tablet'), '📱'],
	laptop: [gettext_noop('Laptop'), '💻'],
	desktop: [gettext_noop('Desktop'), '🖥'],
	server: [gettext_noop('Server'), '🗄'],
	tv: [gettext_noop('TV'), '📺'],
	streaming: [gettext_noop('Streaming box'), '📺'],
	console: [gettext_noop('Game console'), '🎮'],
	printer: [gettext_noop('Printer'), '🖨'],
	camera: [gettext_noop('Camera'), '📷'],
	speaker: [gettext_noop('Speaker'), '🔊'],
	iot: [gettext_noop('Smart home / IoT'), '💡'],
	hub: [gettext_noop('Smart home hub'), '🏠'],
	router: [gettext_noop('Router'), '📡'],
	access_point: [gettext_noop('Access point'), '📶'],
	switch: [gettext_noop('Switch'), '🔀'],
	nas: [gettext_noop('NAS'), '💾'],
	wearable: [gettext_noop('Wearable'), '⌚'],
	voip: [gettext_noop('VoIP phone'), '☎'],
	ereader: [gettext_noop('E-reader'), '📖'],
	vm: [gettext_noop('Virtual machine'), '🧩'],
	unknown: [gettext_noop('Unknown'), '❔'],
};

export const typeLabel = id => (TYPES[id] ? _(TYPES[id][0]) : String(id));
export const typeIcon = id => (TYPES[id] ? TYPES[id][1] : '❔');

export const SOURCE = {
	hostname: gettext_noop('from its host name'),
	vendor_class: gettext_noop('from its DHCP vendor class'),
	vendor: gettext_noop('from its MAC vendor'),
	none: gettext_noop('not detected'),
};
