// Element builder. Everything that reaches the page goes through here, and text
// always lands via text nodes / textContent: hostnames, labels, error messages and
// anything else from the network are attacker-controlled, so there is no HTML-parsing
// path in this module at all.

// Attributes that could turn a string into code or navigation are refused outright.
const UNSAFE_ATTR = /^(on|formaction$|srcdoc$)/i;
const URL_ATTR = /^(href|src|action|xlink:href)$/i;

// h('div', {class: 'x', text: 'hi', onclick: fn, title: 't'}, child, [children], 'text')
export function h(tag, props, ...children) {
	const el = document.createElement(tag);
	if (props) {
		for (const [key, value] of Object.entries(props)) {
			if (value == null || value === false) continue;
			if (key === 'class') el.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value;
			else if (key === 'text') el.textContent = String(value);
			else if (key === 'dataset') Object.assign(el.dataset, value);
			else if (key === 'style' && typeof value === 'object') Object.assign(el.style, value);
			else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2).toLowerCase(), value);
			else if (key === 'value' || key === 'checked' || key === 'disabled' || key === 'selected') el[key] = value;
			else if (UNSAFE_ATTR.test(key)) throw new Error('dom.h: refusing attribute ' + key);
			else if (URL_ATTR.test(key) && !safeUrl(value)) throw new Error('dom.h: refusing URL ' + value);
			else el.setAttribute(key, value === true ? '' : String(value));
		}
	}
	append(el, children);
	return el;
}

// Appends strings (as text nodes), numbers, nodes and nested arrays; skips null/false.
export function append(el, children) {
	for (const c of children) {
		if (c == null || c === false) continue;
		if (Array.isArray(c)) append(el, c);
		else if (c instanceof Node) el.appendChild(c);
		else el.appendChild(document.createTextNode(String(c)));
	}
	return el;
}

// Replaces all children of el.
export function replace(el, ...children) {
	el.replaceChildren();
	return append(el, children);
}

// Sets text only when it changed, so polling does not churn the DOM needlessly.
export function setText(el, value) {
	const s = value == null ? '' : String(value);
	if (el.textContent !== s) el.textContent = s;
}

// Only same-origin relative URLs, http(s) and blob: are allowed (no javascript:).
function safeUrl(v) {
	const s = String(v).trim();
	return !/^[a-z][a-z0-9+.-]*:/i.test(s) || /^(https?|blob):/i.test(s);
}
