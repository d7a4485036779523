// Device types (the server's `types` list): label and a small icon. Unknown ids fall back
// to their raw id shown as text (never as markup).

import {_, N_} from '../../i18n.js';

const TYPES = {
	phone: [N_('Phone'), '📱'],
	tablet: [N_('Tablet'), '📱'],
	laptop: [N_('Laptop'), '💻'],
	desktop: [N_('Desktop'), '🖥'],
	server: [N_('Server'), '🗄'],
	tv: [N_('TV'), '📺'],
	streaming: [N_('Streaming box'), '📺'],
	console: [N_('Game console'), '🎮'],
	printer: [N_('Printer'), '🖨'],
	camera: [N_('Camera'), '📷'],
	speaker: [N_('Speaker'), '🔊'],
	iot: [N_('Smart home / IoT'), '💡'],
	hub: [N_('Smart home hub'), '🏠'],
	router: [N_('Router'), '📡'],
	access_point: [N_('Access point'), '📶'],
	switch: [N_('Switch'), '🔀'],
	nas: [N_('NAS'), '💾'],
	wearable: [N_('Wearable'), '⌚'],
	voip: [N_('VoIP phone'), '☎'],
	ereader: [N_('E-reader'), '📖'],
	vm: [N_('Virtual machine'), '🧩'],
	unknown: [N_('Unknown'), '❔'],
};

export const typeLabel = id => (TYPES[id] ? _(TYPES[id][0]) : String(id));
export const typeIcon = id => (TYPES[id] ? TYPES[id][1] : '❔');

export const SOURCE = {
	hostname: N_('from its host name'),
	vendor_class: N_('from its DHCP vendor class'),
	vendor: N_('from its MAC vendor'),
	none: N_('not detected'),
};
