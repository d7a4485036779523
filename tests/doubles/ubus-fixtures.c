/*
 * ubus-fixtures — a test-only ubus server that answers ubus calls from JSON fixture files, on the
 * real ubusd (built from tests/vendor/openwrt by tests/bed/build-webstack.sh, linked against that
 * libubus). It stands in for the daemons that cannot run on this machine and that the product asks
 * over ubus: netifd (`network.interface`, `network.interface.<name>`), and later `network.wireless`
 * and `iwinfo` (hostapd/nl80211 need Wi-Fi drivers). Never shipped.
 *
 *   ubus-fixtures -s SOCK [-l LOG] DIR
 *
 * With -l, every call is appended to LOG as one line `<object> <method> <args as JSON>` before it
 * is answered (so a test can prove a call was, or was not, made).
 *
 * DIR holds one directory per ubus object, one file per method:
 *
 *   DIR/<object>/<method>.json          the reply to every call of <method> (a JSON object)
 *   DIR/<object>/<method>/<arg>.json    when this directory exists instead: the reply is chosen by
 *                                       the value of the call's first string argument
 *                                       (`iwinfo info {"device":"wlan0"}` -> info/wlan0.json),
 *   DIR/<object>/<method>/default.json  or this one when there is no string argument or no file
 *                                       for its value
 *   DIR/<object>/<method>.status        optional: a number; the call fails with that ubus status
 *                                       (e.g. 4 = UBUS_STATUS_NOT_FOUND, as netifd answers for an
 *                                       unknown interface) and no reply is sent
 *
 * Objects and their method names are registered once at start (ubusd needs the list); the files
 * are read at every call, so a test changes an answer by rewriting its file. A missing or
 * unparsable reply file answers UBUS_STATUS_NOT_FOUND (resp. UBUS_STATUS_UNKNOWN_ERROR). Argument
 * values are never used as paths unless they are plain names ([A-Za-z0-9_.:@-], not starting
 * with '.').
 *
 * The shape of the fixture files mimics real daemons; each fixture set documents its source. The
 * netifd shape (tests/fixtures/ubus/network.interface.*): netifd's interface_dump_status() in
 * openwrt/netifd interface.c — `up`, `pending`, `available`, `autostart`, `dynamic`, `uptime`
 * (seconds, only when up), `l3_device` (only when up), `proto`, `device` (the configured device
 * when it is a netdev), `metric`, `dns_metric`, `delegation`, `ipv4-address` [{address, mask}],
 * `ipv6-address`, `ipv6-prefix`, `ipv6-prefix-assignment`, `route` [{target, mask, nexthop,
 * source}], `dns-server`, `dns-search`, `neighbors`, `inactive`, `data`; `network.interface dump`
 * answers {"interface": [<status + "interface": name>, ...]}.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libubox/blobmsg.h>
#include <libubox/blobmsg_json.h>
#include <libubox/uloop.h>
#include <libubus.h>

static const char *fixture_dir;
static const char *call_log;
static struct blob_buf reply;

static void log_call(const char *object, const char *method, struct blob_attr *msg)
{
	char *args = msg ? blobmsg_format_json(msg, true) : NULL;
	FILE *f;

	if (!call_log)
		return;
	f = fopen(call_log, "a");
	if (f) {
		fprintf(f, "%s %s %s\n", object, method, args ? args : "{}");
		fclose(f);
	}
	free(args);
}

static int plain_name(const char *s)
{
	if (!*s || *s == '.' || strlen(s) > 64)
		return 0;
	for (; *s; s++) {
		char c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == ':' || c == '@' || c == '-'))
			return 0;
	}
	return 1;
}

static int is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int read_status(const char *path, int *status)
{
	FILE *f = fopen(path, "r");
	int ok;
	if (!f)
		return 0;
	ok = fscanf(f, "%d", status) == 1;
	fclose(f);
	return ok;
}

static int handle(struct ubus_context *ctx, struct ubus_object *obj,
		  struct ubus_request_data *req, const char *method, struct blob_attr *msg)
{
	char path[PATH_MAX], base[PATH_MAX - 100]; /* room for "/" arg(<=64) ".json" */
	const char *arg = NULL;
	struct blob_attr *cur;
	size_t rem;
	int status;

	log_call(obj->name, method, msg);
	if (snprintf(base, sizeof(base), "%s/%s/%s", fixture_dir, obj->name, method) >= (int)sizeof(base))
		return UBUS_STATUS_UNKNOWN_ERROR;

	snprintf(path, sizeof(path), "%s.status", base);
	if (read_status(path, &status))
		return status;

	if (is_dir(base)) {
		if (msg) {
			blob_for_each_attr(cur, msg, rem) {
				if (blobmsg_type(cur) == BLOBMSG_TYPE_STRING) {
					arg = blobmsg_get_string(cur);
					break;
				}
			}
		}
		path[0] = 0;
		if (arg && plain_name(arg))
			snprintf(path, sizeof(path), "%s/%s.json", base, arg);
		if (!path[0] || access(path, R_OK) != 0)
			snprintf(path, sizeof(path), "%s/default.json", base);
	} else {
		snprintf(path, sizeof(path), "%s.json", base);
	}
	if (access(path, R_OK) != 0)
		return UBUS_STATUS_NOT_FOUND;

	blob_buf_init(&reply, 0);
	if (!blobmsg_add_json_from_file(&reply, path)) {
		fprintf(stderr, "ubus-fixtures: %s is not a JSON object\n", path);
		return UBUS_STATUS_UNKNOWN_ERROR;
	}
	ubus_send_reply(ctx, req, reply.head);
	return 0;
}

/* Adds one object with a method per `<method>.json`, `<method>.status` or `<method>/`. */
static int add_object(struct ubus_context *ctx, const char *name)
{
	char dir[PATH_MAX];
	struct ubus_method *methods = NULL;
	struct ubus_object_type *type;
	struct ubus_object *obj;
	struct dirent *e;
	int n = 0, i, dup, ret;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/%s", fixture_dir, name);
	d = opendir(dir);
	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL) {
		char m[NAME_MAX + 1], *dot, p[PATH_MAX];
		if (e->d_name[0] == '.')
			continue;
		snprintf(m, sizeof(m), "%s", e->d_name);
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		dot = strrchr(m, '.');
		if (dot && (!strcmp(dot, ".json") || !strcmp(dot, ".status")))
			*dot = 0;
		else if (!is_dir(p))
			continue;
		for (dup = 0, i = 0; i < n; i++)
			if (!strcmp(methods[i].name, m))
				dup = 1;
		if (dup)
			continue;
		methods = realloc(methods, sizeof(*methods) * (n + 1));
		if (!methods)
			abort();
		memset(&methods[n], 0, sizeof(*methods));
		methods[n].name = strdup(m);
		methods[n].handler = handle;
		n++;
	}
	closedir(d);

	type = calloc(1, sizeof(*type));
	obj = calloc(1, sizeof(*obj));
	if (!type || !obj)
		abort();
	type->name = strdup(name);
	type->methods = methods;
	type->n_methods = n;
	obj->name = strdup(name);
	obj->type = type;
	obj->methods = methods;
	obj->n_methods = n;
	ret = ubus_add_object(ctx, obj);
	if (ret) {
		fprintf(stderr, "ubus-fixtures: cannot add object %s: %s\n", name, ubus_strerror(ret));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *sock = NULL;
	struct ubus_context *ctx;
	struct dirent *e;
	int ch, objects = 0;
	DIR *d;

	while ((ch = getopt(argc, argv, "s:l:")) != -1) {
		if (ch == 's')
			sock = optarg;
		else if (ch == 'l')
			call_log = optarg;
		else
			goto usage;
	}
	if (optind != argc - 1 || !sock)
		goto usage;
	fixture_dir = argv[optind];

	uloop_init();
	ctx = ubus_connect(sock);
	if (!ctx) {
		fprintf(stderr, "ubus-fixtures: cannot connect to %s\n", sock);
		return 1;
	}
	ubus_add_uloop(ctx);

	d = opendir(fixture_dir);
	if (!d) {
		fprintf(stderr, "ubus-fixtures: %s: %s\n", fixture_dir, strerror(errno));
		return 1;
	}
	while ((e = readdir(d)) != NULL) {
		char p[PATH_MAX];
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", fixture_dir, e->d_name);
		if (!is_dir(p))
			continue;
		if (add_object(ctx, e->d_name))
			return 1;
		objects++;
	}
	closedir(d);
	fprintf(stderr, "ubus-fixtures: %d objects from %s on %s\n", objects, fixture_dir, sock);

	uloop_run();
	ubus_free(ctx);
	uloop_done();
	return 0;

usage:
	fprintf(stderr, "usage: ubus-fixtures -s SOCK [-l LOG] DIR\n");
	return 2;
}
