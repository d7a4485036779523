// `make soak` (issue 18): three browser tabs on Overview polling for JM_SOAK_TABS_SECS (default
// 1800 s) against the real server (uhttpd + rpcd + the CGI + the simulated router) and the
// collector that tests/browser/run.sh starts. Run as
//   flock -o /tmp/jm-rig.lock tests/browser/run.sh ../soak/tabs.test.mjs
// Figures (one `SOAK tabs …` line): API requests per tab per second in steady state (DESIGN §11:
// ≤ 0.4) and CGI processes per second for the three (each request is one CGI process; its
// own children are 0 for overview, make bench), the collector's CPU per minute in the first and
// second half and its RSS at the start and the end (flat), and the page problems (none).
import {test} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {appUrl, env, launch, openPage} from '../browser/lib/harness.mjs';

const SECS = Number(process.env.JM_SOAK_TABS_SECS || 1800);
const WARMUP = Math.min(30, SECS / 6);
const HZ = 100; // USER_HZ: /proc/<pid>/stat times are in clock ticks

function collectorPid() {
	const st = JSON.parse(fs.readFileSync(path.join(process.env.JM_ROOT, 'var/run/jammonitor/collector.json'), 'utf8'));
	assert.equal(st.state, 'running', 'the collector runs');
	return st.pid;
}

function usage(pid) {
	const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
	const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
	const cpuMs = (Number(f[11]) + Number(f[12])) * 1000 / HZ; // utime + stime
	const rss = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
	return {t: Date.now(), cpuMs, rss};
}

test(`three Overview tabs for ${SECS} s: request budget held, collector CPU and RSS flat`, {timeout: (SECS + 120) * 1000}, async () => {
	const pid = collectorPid();
	const browser = await launch();
	try {
		const tabs = [];
		for (let i = 0; i < 3; i++) {
			const p = await openPage(browser);
			await p.page.goto(appUrl(env.sid)); // Overview is the first tab
			tabs.push(p);
		}
		await new Promise(r => setTimeout(r, WARMUP * 1000));
		const t0 = Date.now();
		const marks = tabs.map(p => p.requests.length);
		const samples = [usage(pid)];
		while (Date.now() - t0 < (SECS - WARMUP) * 1000) {
			await new Promise(r => setTimeout(r, 10_000));
			samples.push(usage(pid));
		}
		const secs = (Date.now() - t0) / 1000;
		const api = tabs.map((p, i) => p.requests.slice(marks[i]).filter(r => r.url.includes('/cgi-bin/jammonitor/api/')).length);
		const perTab = api.map(n => n / secs);
		const mid = samples[Math.floor(samples.length / 2)];
		const first = samples[0], last = samples[samples.length - 1];
		const cpuPerMin = (a, b) => (b.cpuMs - a.cpuMs) / ((b.t - a.t) / 60000);
		const cpu1 = cpuPerMin(first, mid), cpu2 = cpuPerMin(mid, last);
		const rssMax = Math.max(...samples.map(s => s.rss));
		const problems = tabs.flatMap(p => p.problems);
		console.log(`SOAK tabs duration_s=${SECS} steady_s=${secs.toFixed(0)} requests_per_tab=${api.join(',')} ` +
			`req_per_s_per_tab=${perTab.map(v => v.toFixed(3)).join(',')} budget=0.4 ` +
			`cgi_processes_per_s=${(api.reduce((a, b) => a + b, 0) / secs).toFixed(3)} ` +
			`collector_cpu_ms_per_min_first_half=${cpu1.toFixed(1)} second_half=${cpu2.toFixed(1)} ` +
			`collector_rss_kb_start=${first.rss} end=${last.rss} max=${rssMax} page_problems=${problems.length}`);
		for (const v of perTab) assert.ok(v <= 0.4, `request budget: ${v.toFixed(3)} req/s per tab > 0.4`);
		assert.ok(api.every(n => n > 0), 'every tab kept polling');
		assert.deepEqual(problems, [], 'no page problems');
		// flat: the second half costs no more than the first (+ 50 % and 30 ms/min of noise on a
		// shared machine), and RSS ends within 512 kB of where it started
		assert.ok(cpu2 <= cpu1 * 1.5 + 30, `collector CPU grows: ${cpu1.toFixed(1)} → ${cpu2.toFixed(1)} ms/min`);
		assert.ok(last.rss <= first.rss + 512, `collector RSS grows: ${first.rss} → ${last.rss} kB`);
	} finally {
		await browser.close();
	}
});
