// Moving items between zones by pointer (mouse, pen and touch: Pointer Events, since HTML5
// drag and drop has no touch support) and by keyboard (focus an item, Space/Enter picks it
// up, arrows or digits choose a zone, Enter drops, Escape cancels; every step is announced).
//
// This module never moves items itself: it tells the caller which item was dropped on which
// zone (onDrop) and the caller re-renders. While a drag or a keyboard pick-up is active,
// active() is true so the caller can hold back its own re-layouts (a poll must not move the
// row under the user's pointer or steal the focus of a picked-up row); onEnd() says when to
// catch up.

import {_, _f} from './i18n.js';

const DRAG_THRESHOLD_PX = 5;
const EDGE_PX = 48;       // auto-scroll when the pointer is this close to the viewport edge
const EDGE_SPEED_PX = 14; // per animation frame

export function createDnd({
	root,             // element that holds every zone and item
	itemSelector,     // e.g. '.jm-wan-row'
	handleSelector,   // touch drags start only on the handle (elsewhere a touch scrolls)
	zones,            // () => [{key, el, label}] in keyboard order
	zoneOf,           // item → key of the zone it is in
	itemLabel,        // item → text for announcements
	canStart,         // item → true, or the reason (text) why it cannot move now
	onDrop,           // (item, key) → anything (called only when the zone changes)
	onEnd = () => {}, // a drag or pick-up ended (dropped or cancelled)
	announce,         // text → void (aria-live)
}) {
	let drag = null; // pointer drag: {item, id, x0, y0, x, y, started, ghost, over, raf, edge}
	let kb = null;   // keyboard pick-up: {item, index}

	const zoneList = () => zones();
	const zoneByKey = key => zoneList().find(z => z.key === key);
	const isRtl = () => getComputedStyle(root).direction === 'rtl';

	function highlight(key) {
		for (const z of zoneList()) z.el.classList.toggle('jm-drop-target', z.key === key);
	}

	function zoneAt(x, y) {
		const hit = document.elementFromPoint(x, y);
		if (!hit || !root.contains(hit)) return null;
		const z = zoneList().find(zz => zz.el.contains(hit));
		return z ? z.key : null;
	}

	// ---- pointer ----

	function onPointerDown(e) {
		if (drag || e.button !== 0 || !e.isPrimary) return;
		const item = e.target.closest && e.target.closest(itemSelector);
		if (!item || !root.contains(item)) return;
		const onHandle = !!e.target.closest(handleSelector);
		// Buttons inside an item (name, address) keep their click; a touch outside the handle scrolls.
		if (!onHandle && (e.pointerType === 'touch' || e.target.closest('button, a, input, select, textarea, label'))) return;
		const why = canStart(item);
		if (why !== true) {
			if (onHandle) announce(why);
			return;
		}
		if (kb) cancelKeyboard(true);
		drag = {item, id: e.pointerId, x0: e.clientX, y0: e.clientY, x: e.clientX, y: e.clientY,
			started: false, ghost: null, over: null, raf: 0, edge: 0};
		if (onHandle) e.preventDefault(); // no text selection, no scrolling
		try { item.setPointerCapture(e.pointerId); } catch { /* pointer already gone */ }
		item.addEventListener('pointermove', onPointerMove);
		item.addEventListener('pointerup', onPointerUp);
		item.addEventListener('pointercancel', onPointerCancel);
		item.addEventListener('lostpointercapture', onPointerCancel);
	}

	function start() {
		const {item} = drag;
		const rect = item.getBoundingClientRect();
		// A visual copy that follows the pointer; the copy is inert and carries no ids or data
		// attributes, so nothing (tests, assistive technology) can mistake it for the item.
		const ghost = item.cloneNode(true);
		for (const el of [ghost, ...ghost.querySelectorAll('*')]) {
			for (const a of [...el.attributes]) if (a.name === 'id' || a.name.startsWith('data-') || a.name.startsWith('aria-')) el.removeAttribute(a.name);
			el.removeAttribute('tabindex');
		}
		ghost.classList.add('jm-ghost');
		ghost.setAttribute('aria-hidden', 'true');
		ghost.inert = true;
		Object.assign(ghost.style, {position: 'fixed', left: rect.left + 'px', top: rect.top + 'px', width: rect.width + 'px', margin: '0'});
		root.appendChild(ghost);
		drag.ghost = ghost;
		drag.started = true;
		item.classList.add('jm-drag-source');
		root.classList.add('jm-dragging');
		document.addEventListener('keydown', onDocKeyDown, true);
		announce(_f('Dragging {item}.', {item: itemLabel(item)}));
	}

	function onPointerMove(e) {
		if (!drag || e.pointerId !== drag.id) return;
		drag.x = e.clientX;
		drag.y = e.clientY;
		if (!drag.started) {
			if (Math.hypot(drag.x - drag.x0, drag.y - drag.y0) < DRAG_THRESHOLD_PX) return;
			start();
		}
		e.preventDefault();
		follow();
		// Auto-scroll near the top and bottom edges (phones: the zones are stacked).
		drag.edge = drag.y < EDGE_PX ? -EDGE_SPEED_PX : drag.y > window.innerHeight - EDGE_PX ? EDGE_SPEED_PX : 0;
		if (drag.edge && !drag.raf) drag.raf = requestAnimationFrame(scrollStep);
	}

	function follow() {
		drag.ghost.style.transform = `translate(${drag.x - drag.x0}px, ${drag.y - drag.y0}px)`;
		const over = zoneAt(drag.x, drag.y);
		if (over !== drag.over) {
			drag.over = over;
			highlight(over);
		}
	}

	function scrollStep() {
		if (!drag) return;
		drag.raf = 0;
		if (!drag.edge) return;
		window.scrollBy(0, drag.edge);
		follow();
		drag.raf = requestAnimationFrame(scrollStep);
	}

	function onPointerUp(e) {
		if (!drag || e.pointerId !== drag.id) return;
		const {item, started} = drag;
		const key = started ? zoneAt(e.clientX, e.clientY) : null;
		endPointer();
		if (!started) return; // a click, not a drag
		if (key && key !== zoneOf(item)) {
			onDrop(item, key);
		} else {
			announce(key ? _f('{item} stays in {zone}.', {item: itemLabel(item), zone: zoneByKey(key).label}) : _('Move cancelled.'));
		}
		onEnd();
	}

	function onPointerCancel(e) {
		if (!drag || (e && e.pointerId !== drag.id)) return;
		const started = drag.started;
		endPointer();
		if (started) {
			announce(_('Move cancelled.'));
			onEnd();
		}
	}

	function endPointer() {
		if (!drag) return;
		const {item, ghost, id, raf} = drag;
		drag = null; // first: the listeners below may fire lostpointercapture synchronously
		if (raf) cancelAnimationFrame(raf);
		item.removeEventListener('pointermove', onPointerMove);
		item.removeEventListener('pointerup', onPointerUp);
		item.removeEventListener('pointercancel', onPointerCancel);
		item.removeEventListener('lostpointercapture', onPointerCancel);
		try { if (item.hasPointerCapture(id)) item.releasePointerCapture(id); } catch { /* gone */ }
		document.removeEventListener('keydown', onDocKeyDown, true);
		if (ghost) ghost.remove();
		item.classList.remove('jm-drag-source');
		root.classList.remove('jm-dragging');
		highlight(null);
	}

	// ---- keyboard ----

	// Escape during a pointer drag, wherever the focus is (a mouse drag does not focus the row).
	function onDocKeyDown(e) {
		if (drag && drag.started && e.key === 'Escape') {
			e.preventDefault();
			e.stopPropagation();
			onPointerCancel();
		}
	}

	function onKeyDown(e) {
		if (drag) return;
		const item = e.target;
		if (!(item instanceof Element) || !item.matches(itemSelector) || !root.contains(item)) return; // keys of inner buttons are theirs
		if (e.altKey || e.ctrlKey || e.metaKey) return;
		if (!kb) {
			if (e.key !== ' ' && e.key !== 'Enter') return;
			e.preventDefault();
			const why = canStart(item);
			if (why !== true) { announce(why); return; }
			const list = zoneList();
			const index = Math.max(0, list.findIndex(z => z.key === zoneOf(item)));
			kb = {item, index, from: index};
			item.classList.add('jm-picked');
			highlight(list[index].key);
			announce(_f('{item} picked up, in {zone}. Arrow keys or 1 to {n} choose a zone, Enter drops, Escape cancels.',
				{item: itemLabel(item), zone: list[index].label, n: list.length}));
			return;
		}
		if (kb.item !== item) return;
		const list = zoneList();
		let index = kb.index;
		const fwd = isRtl() ? 'ArrowLeft' : 'ArrowRight', back = isRtl() ? 'ArrowRight' : 'ArrowLeft';
		if (e.key === 'ArrowDown' || e.key === fwd) index = Math.min(list.length - 1, index + 1);
		else if (e.key === 'ArrowUp' || e.key === back) index = Math.max(0, index - 1);
		else if (e.key === 'Home') index = 0;
		else if (e.key === 'End') index = list.length - 1;
		else if (/^[1-9]$/.test(e.key) && Number(e.key) <= list.length) index = Number(e.key) - 1;
		else if (e.key === 'Enter' || e.key === ' ') {
			e.preventDefault();
			const target = list[kb.index];
			const moved = kb.index !== kb.from;
			cancelKeyboard(false);
			if (moved) onDrop(item, target.key);
			else announce(_f('{item} stays in {zone}.', {item: itemLabel(item), zone: target.label}));
			onEnd();
			return;
		} else if (e.key === 'Escape') {
			e.preventDefault();
			cancelKeyboard(true);
			onEnd();
			return;
		} else if (e.key === 'Tab') {
			cancelKeyboard(true);
			onEnd();
			return;
		} else return;
		e.preventDefault();
		if (index !== kb.index) {
			kb.index = index;
			highlight(list[index].key);
		}
		announce(_f('{zone} ({i} of {n}). Enter drops here.', {zone: list[index].label, i: index + 1, n: list.length}));
	}

	function cancelKeyboard(say) {
		if (!kb) return;
		const {item} = kb;
		kb = null;
		item.classList.remove('jm-picked');
		highlight(null);
		if (say) announce(_('Move cancelled.'));
	}

	function onFocusOut(e) {
		if (kb && e.target === kb.item) {
			cancelKeyboard(true);
			onEnd();
		}
	}

	root.addEventListener('pointerdown', onPointerDown);
	root.addEventListener('keydown', onKeyDown);
	root.addEventListener('focusout', onFocusOut);

	return {
		active: () => !!(drag || kb),
		// Ends whatever is in progress without dropping (tab hidden, view locked).
		cancel() {
			const was = !!(drag && drag.started) || !!kb;
			if (drag) endPointer();
			cancelKeyboard(false);
			if (was) onEnd();
		},
		destroy() {
			if (drag) endPointer();
			cancelKeyboard(false);
			root.removeEventListener('pointerdown', onPointerDown);
			root.removeEventListener('keydown', onKeyDown);
			root.removeEventListener('focusout', onFocusOut);
		},
	};
}
