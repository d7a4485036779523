// The WAN edit dialog (POST wan.edit) and the address details popup. The server validates
// every field; this form sends only what the user changed and shows the server's error under
// the field it names (error.field), so the rules live in one place.

import {h} from '../../dom.js';
import {_, _f} from '../../i18n.js';
import {errorText} from '../../errors.js';
import * as fmt from '../../format.js';
import {dl, row} from '../../ui.js';
import {modal, field, errorMap, input, uid} from '../../dialog.js';
import {writeError} from './messages.js';

export const WRITE_TIMEOUT_MS = 30000;

// 24 → "255.255.255.0"
export function prefixToMask(prefix) {
	if (typeof prefix !== 'number' || prefix < 0 || prefix > 32) return null;
	const m = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
	return [24, 16, 8, 0].map(s => (m >>> s) & 255).join('.');
}

// "10.1.1.2", 24 → "10.1.1.0"
export function networkOf(ip, prefix) {
	const p = String(ip || '').split('.').map(Number);
	if (p.length !== 4 || p.some(n => !Number.isInteger(n) || n < 0 || n > 255)) return null;
	const mask = prefixToMask(prefix);
	if (!mask) return null;
	const m = mask.split('.').map(Number);
	return p.map((n, i) => n & m[i]).join('.');
}

export const wanTitle = w => w.label || w.name;

// Address details popup: subnet, netmask, gateway, DNS.
export function openDetails(host, w) {
	const cidr = w.ipv4 ? w.ipv4 + (w.prefix != null ? '/' + w.prefix : '') : null;
	const net = networkOf(w.ipv4, w.prefix);
	const dns = Array.isArray(w.dns) && w.dns.length ? w.dns.join(', ') : _('Automatic (from the link)');
	return modal(host, {
		title: _f('{wan}: addresses', {wan: wanTitle(w)}),
		className: 'jm-details',
		body: dl([
			row(_('Interface'), w.name + (w.device ? ' (' + w.device + ')' : '')),
			row(_('IPv4 address'), cidr || fmt.DASH),
			row(_('Subnet'), net ? net + '/' + w.prefix : fmt.DASH),
			row(_('Netmask'), w.netmask || prefixToMask(w.prefix) || fmt.DASH),
			row(_('Gateway'), w.gateway || fmt.DASH),
			row(_('DNS servers'), dns),
			row(_('Public IP'), w.public_ip || fmt.DASH),
			row(_('MTU'), w.mtu != null ? w.mtu + ' B' : fmt.DASH),
			row(_('Protocol'), w.proto === 'static' ? _('Static address') : w.proto === 'dhcp' ? _('DHCP (automatic)') : (w.proto || fmt.DASH)),
		]),
	});
}

// The edit form. writable(): false disables Save (read-only session, bypass).
export function openEdit(host, {api, wan: w, mtuRange = [576, 9000], writable, onSaved}) {
	const errors = errorMap();
	const initial = {
		label: w.label || '',
		proto: w.proto === 'static' ? 'static' : w.proto === 'dhcp' ? 'dhcp' : (w.proto || 'dhcp'),
		ipaddr: w.ipaddr || w.ipv4 || '',
		netmask: w.netmask || prefixToMask(w.prefix) || '',
		gateway: w.gateway || '',
		dnsMode: Array.isArray(w.dns) && w.dns.length ? 'custom' : 'auto',
		dns: [(w.dns && w.dns[0]) || '', (w.dns && w.dns[1]) || ''],
		mtu: w.mtu_config != null ? String(w.mtu_config) : '',
	};

	const label = errors.add('label', field('label', _('Label'), input({value: initial.label, maxlength: 32}),
		{hint: _('Shown instead of the interface name; blank = the name.')}));
	const protoSel = h('select', {class: 'jm-input'},
		h('option', {value: 'dhcp', text: _('DHCP (automatic)'), selected: initial.proto === 'dhcp'}),
		h('option', {value: 'static', text: _('Static address'), selected: initial.proto === 'static'}),
		initial.proto !== 'dhcp' && initial.proto !== 'static'
			? h('option', {value: initial.proto, text: initial.proto, selected: true, disabled: true}) : null);
	const proto = errors.add('proto', field('proto', _('Protocol'), protoSel));
	const ipaddr = errors.add('ipaddr', field('ipaddr', _('IPv4 address'), input({value: initial.ipaddr, inputmode: 'decimal', placeholder: '192.0.2.2'})));
	const netmask = errors.add('netmask', field('netmask', _('Netmask'), input({value: initial.netmask, inputmode: 'decimal', placeholder: '255.255.255.0'})));
	const gateway = errors.add('gateway', field('gateway', _('Gateway'), input({value: initial.gateway, inputmode: 'decimal', placeholder: '192.0.2.1'})));
	const staticBox = h('fieldset', {class: 'jm-fieldset'}, h('legend', {text: _('Static addressing')}), ipaddr.el, netmask.el, gateway.el);

	const dnsName = uid('dns');
	const dnsAuto = h('input', {type: 'radio', name: dnsName, value: 'auto', checked: initial.dnsMode === 'auto'});
	const dnsCustom = h('input', {type: 'radio', name: dnsName, value: 'custom', checked: initial.dnsMode === 'custom'});
	const dns0 = errors.add('dns[0]', field('dns[0]', _('DNS server 1'), input({value: initial.dns[0], inputmode: 'decimal', placeholder: '9.9.9.9'})));
	const dns1 = errors.add('dns[1]', field('dns[1]', _('DNS server 2 (optional)'), input({value: initial.dns[1], inputmode: 'decimal', placeholder: '1.1.1.1'})));
	const dnsErr = h('div', {class: 'jm-field-error', hidden: true});
	errors.add('dns', {input: dnsCustom, error(t) { dnsErr.textContent = t || ''; dnsErr.hidden = !t; }});
	const dnsCustomBox = h('div', {class: 'jm-dns-custom'}, dns0.el, dns1.el);
	const dnsBox = h('fieldset', {class: 'jm-fieldset', 'data-field': 'dns'},
		h('legend', {text: _('DNS servers')}),
		h('div', {class: 'jm-radios'},
			h('label', {}, dnsAuto, ' ', _('Automatic')),
			h('label', {}, dnsCustom, ' ', _('Custom (up to 2)'))),
		dnsErr, dnsCustomBox);

	const mtu = errors.add('mtu', field('mtu', _('MTU (bytes)'),
		input({value: initial.mtu, inputmode: 'numeric', placeholder: _('Default'), class: 'jm-input jm-input-short'}),
		{hint: _f('{min}–{max}; blank = the device default (now {mtu}).', {min: mtuRange[0], max: mtuRange[1], mtu: w.mtu != null ? w.mtu : fmt.DASH})}));

	const formError = h('div', {class: 'jm-form-error', role: 'alert', hidden: true});
	const status = h('span', {class: 'jm-muted', role: 'status'});
	const cancelBtn = h('button', {type: 'button', class: 'jm-btn', text: _('Cancel')});
	const saveBtn = h('button', {type: 'submit', class: 'jm-btn jm-btn-primary', text: _('Save'), 'data-write': ''});
	const canSave = writable();
	if (!canSave) { saveBtn.disabled = true; saveBtn.title = _('Changes are disabled.'); }

	const form = h('form', {class: 'jm-form', novalidate: true},
		h('p', {class: 'jm-muted', text: _f('Interface {name}, device {device}', {name: w.name, device: w.device || fmt.DASH})}),
		label.el, proto.el, staticBox, dnsBox, mtu.el, formError,
		h('div', {class: 'jm-actions'}, status, cancelBtn, saveBtn));

	const sync = () => {
		staticBox.hidden = protoSel.value !== 'static';
		dnsCustomBox.hidden = !dnsCustom.checked;
	};
	protoSel.addEventListener('change', sync);
	dnsAuto.addEventListener('change', sync);
	dnsCustom.addEventListener('change', sync);
	sync();

	const d = modal(host, {title: _f('Edit {wan}', {wan: wanTitle(w)}), className: 'jm-edit', body: form});
	cancelBtn.addEventListener('click', () => d.close());

	function showFormError(text) {
		formError.textContent = text || '';
		formError.hidden = !text;
	}

	// Only what changed goes to the server (absent fields are left alone there).
	function body() {
		const b = {name: w.name};
		const lab = label.input.value.trim();
		if (lab !== initial.label) b.label = lab;
		const p = protoSel.value;
		const addr = [ipaddr, netmask, gateway].map(f => f.input.value.trim());
		if (p !== initial.proto || (p === 'static' && addr.join() !== [initial.ipaddr, initial.netmask, initial.gateway].join())) {
			b.proto = p;
			if (p === 'static') [b.ipaddr, b.netmask, b.gateway] = addr;
		}
		const mode = dnsCustom.checked ? 'custom' : 'auto';
		const list = mode === 'custom' ? [dns0, dns1].map(f => f.input.value.trim()).filter(Boolean) : [];
		const before = initial.dnsMode === 'custom' ? initial.dns.filter(Boolean) : [];
		if (mode === 'custom' && !list.length) return {error: ['dns[0]', _('Enter a DNS server, or choose Automatic.')]};
		if (list.join() !== before.join()) b.dns = list;
		const m = mtu.input.value.trim();
		if (m !== initial.mtu) b.mtu = m === '' ? null : /^\d+$/.test(m) ? Number(m) : m; // the server judges
		return {body: b};
	}

	form.addEventListener('submit', async e => {
		e.preventDefault();
		if (saveBtn.disabled) return;
		errors.clear();
		showFormError(null);
		const {body: b, error} = body();
		if (error) { errors.show(error[0], error[1]); return; }
		if (Object.keys(b).length === 1) { status.textContent = _('Nothing changed.'); return; }
		saveBtn.disabled = true;
		status.textContent = _('Saving…');
		try {
			await api.write('wan.edit', b, {timeoutMs: WRITE_TIMEOUT_MS,
				onProgress: job => job.state === 'running' && job.message &&
					(status.textContent = _f('Applying on the router: {step}', {step: job.message}))});
			d.close();
			onSaved(_f('Settings of {wan} saved.', {wan: wanTitle(w)}));
		} catch (err) {
			status.textContent = '';
			saveBtn.disabled = false;
			if (!(err && err.field && errors.show(err.field, errorText(err)))) showFormError(writeError(err));
		}
	});
	label.input.focus();
	return d;
}
