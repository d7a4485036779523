'use strict';
'require view';

// LuCI host for the JamMonitor app (Status → JamMonitor). The app itself is plain ES
// modules under /luci-static/resources/jammonitor/ and talks to its own CGI with the
// LuCI session id as a Bearer token (the LuCI cookie is scoped to /cgi-bin/luci/).

return view.extend({
	render: function() {
		var container = E('div', { 'class': 'jammonitor-host' }, [
			E('p', { 'class': 'spinning' }, [ _('Loading view…') ])
		]);

		// true/false when LuCI knows the ACL level of this page (read-only users get
		// false); null/undefined on older LuCI: the server then decides per request.
		var perm = (typeof L.hasViewPermission == 'function') ? L.hasViewPermission() : null;
		var canWrite = (perm === true || perm === false) ? perm : undefined;

		import(L.resource('jammonitor/app.js')).then(function(app) {
			return app.mount(container, {
				sessionId: L.env.sessionid,
				apiBase: '/cgi-bin/jammonitor/api/',
				canWrite: canWrite
			});
		}).catch(function(err) {
			container.replaceChildren(E('div', { 'class': 'alert-message error' }, [
				'JamMonitor: ' + ((err && err.message) || String(err))
			]));
		});

		return container;
	},

	// The dashboard saves through its own API; LuCI's Save/Apply/Reset footer has no role here.
	handleSave: null,
	handleSaveApply: null,
	handleReset: null
});
