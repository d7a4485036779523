// The one HTTP client of the app. Every request carries `Authorization: Bearer <sid>`
// (the LuCI cookie never reaches /cgi-bin/jammonitor, and custom headers are dropped by
// uhttpd). Errors always surface as ApiError with the server's code and message.

const SID_RE = /^[0-9a-f]{32}$/;
const DEFAULT_TIMEOUT_MS = 10000;

export class ApiError extends Error {
	constructor(code, message, status = 0, field = null) {
		super(message);
		this.name = 'ApiError';
		this.code = code;
		this.status = status;
		this.field = field;
	}
}

// onBypass(value): the `X-JM-Bypass` header of every answer (off | on | changing), so the
// page follows the VPS bypass without polling for it (htdocs/bypass.js).
export function createApi({sessionId, apiBase = '/cgi-bin/jammonitor/api/', onBypass}) {
	const base = apiBase.endsWith('/') ? apiBase : apiBase + '/';

	async function send(method, action, {query, body, timeoutMs = DEFAULT_TIMEOUT_MS, signal} = {}) {
		if (!SID_RE.test(sessionId || ''))
			throw new ApiError('auth_missing', 'No valid session id', 403);
		// Action names are words, optionally dotted (wan.roles, wan.edit).
		if (!/^[a-z0-9_]+(\.[a-z0-9_]+)*$/.test(action)) throw new Error('api: bad action ' + action);

		const url = base + action + (query ? '?' + new URLSearchParams(query) : '');
		const headers = {Authorization: 'Bearer ' + sessionId, Accept: 'application/json'};
		if (body !== undefined) headers['Content-Type'] = 'application/json';

		const {signal: sig, cleanup, timedOut} = linkedAbort(signal, timeoutMs);
		let res;
		try {
			res = await fetch(url, {
				method, headers, signal: sig, cache: 'no-store', credentials: 'omit',
				body: body === undefined ? undefined : JSON.stringify(body),
			});
		} catch (e) {
			cleanup();
			if (timedOut()) throw new ApiError('timeout', 'The router did not answer in time', 0);
			if (e.name === 'AbortError') throw e; // caller cancelled: not an error to show
			throw new ApiError('network', 'Cannot reach the router', 0);
		}
		const bypass = res.headers.get('X-JM-Bypass');
		if (bypass && onBypass) onBypass(bypass);
		try {
			return await readResponse(res);
		} catch (e) {
			if (timedOut()) throw new ApiError('timeout', 'The router did not answer in time', 0);
			throw e;
		} finally {
			cleanup();
		}
	}

	async function followJob(job, {onProgress, jobTimeoutMs = 360000, signal} = {}) {
		const t0 = Date.now();
		for (;;) {
			if (onProgress) onProgress(job);
			if (job.state === 'done') return job.result;
			if (job.state === 'failed')
				throw new ApiError(String(job.error_code || 'apply_failed'), String(job.error || 'The change failed'),
					job.error_status || 500, job.error_field ?? null);
			if (Date.now() - t0 > jobTimeoutMs)
				throw new ApiError('timeout', 'The router is still applying the change; reload the page later', 0);
			await new Promise(r => setTimeout(r, 700));
			if (signal && signal.aborted) throw new DOMException('aborted', 'AbortError');
			try {
				job = unwrap(await send('GET', 'job', {query: {id: job.id}, signal}));
			} catch (e) {
				// A poll lost to a busy router is retried; the job goes on regardless.
				if (!(e instanceof ApiError) || !['timeout', 'network'].includes(e.code)) throw e;
			}
		}
	}

	return {
		sessionId,
		get: (action, opts) => send('GET', action, opts).then(unwrap),
		post: (action, body, opts) => send('POST', action, {...opts, body: body ?? {}}).then(unwrap),
		// A journaled write: the router answers 202 with a background job (the change is applied
		// there, and survives this page going away); follow it to its end. Resolves with the
		// job's result; a failed apply (rolled back on the router) rejects with its message, and a
		// refusal found under the lock with the field it names, like a direct answer.
		write: (action, body, opts = {}) => send('POST', action, {...opts, body: body ?? {}})
			.then(unwrap).then(data => (data && data.job && data.poll ? followJob(data.job, opts) : data)),
		// Downloads go through fetch + Blob so the sid never appears in a URL
		// (history, logs, Referer). With `body`, a POST (a write-level download).
		download: (action, {query, body, filename, timeoutMs = 120000, signal} = {}) =>
			download(base, sessionId, action, query, body, filename, timeoutMs, signal),
	};
}

function unwrap(json) {
	return json.data;
}

// Parses a JSON envelope; non-JSON answers (uhttpd 502, proxies) become ApiError too.
async function readResponse(res) {
	const text = await res.text();
	let json = null;
	try { json = text ? JSON.parse(text) : null; } catch { /* handled below */ }
	if (json && json.ok === true && res.ok) return json;
	const err = json && json.error;
	if (err && typeof err === 'object')
		throw new ApiError(String(err.code || 'error'), String(err.message || res.statusText), res.status, err.field ?? null);
	throw new ApiError('http_' + res.status, 'HTTP ' + res.status + (res.statusText ? ' ' + res.statusText : ''), res.status);
}

async function download(base, sessionId, action, query, body, filename, timeoutMs, signal) {
	if (!SID_RE.test(sessionId || '')) throw new ApiError('auth_missing', 'No valid session id', 403);
	const {signal: sig, cleanup} = linkedAbort(signal, timeoutMs);
	try {
		const headers = {Authorization: 'Bearer ' + sessionId};
		if (body !== undefined) headers['Content-Type'] = 'application/json';
		const res = await fetch(base + action + (query ? '?' + new URLSearchParams(query) : ''), {
			method: body === undefined ? 'GET' : 'POST', headers, signal: sig, cache: 'no-store', credentials: 'omit',
			body: body === undefined ? undefined : JSON.stringify(body),
		});
		if (!res.ok) await readResponse(res); // throws the server's error
		const blob = await res.blob();
		const url = URL.createObjectURL(blob);
		const a = document.createElement('a');
		a.href = url;
		a.download = filename || action;
		document.body.appendChild(a);
		a.click();
		a.remove();
		setTimeout(() => URL.revokeObjectURL(url), 10000);
	} finally {
		cleanup();
	}
}

// An AbortSignal that fires on the caller's signal or after timeoutMs
// (AbortSignal.any is too new for some router-admin browsers).
function linkedAbort(outer, timeoutMs) {
	const ctl = new AbortController();
	let timed = false;
	const timer = setTimeout(() => { timed = true; ctl.abort(); }, timeoutMs);
	const onOuter = () => ctl.abort();
	if (outer) {
		if (outer.aborted) ctl.abort();
		else outer.addEventListener('abort', onOuter, {once: true});
	}
	return {
		signal: ctl.signal,
		timedOut: () => timed,
		cleanup: () => { clearTimeout(timer); outer?.removeEventListener('abort', onOuter); },
	};
}
