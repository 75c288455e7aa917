/* blast_radius: the report for people: an aligned terminal table with one readout line per
 * identity, and one self-contained HTML page (inline CSS, JS and SVG; it fetches nothing).
 * Every string in a report comes from events, which attackers influence (tool names, subjects):
 * the HTML escapes each one. */
#include "collector/blast_radius.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static double jnum(json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

static json_t *jpath(json_t *o, const char *a, const char *b)
{
	return json_object_get(json_object_get(o, a), b);
}

/* ---- text ---- */

/* A copy without control characters: subjects, tool and scope names come from events, and an
 * escape sequence must not reach the terminal. */
static char *clean(const char *s)
{
	char *c = strdup(s ? s : "");
	for (char *p = c; p && *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return c;
}

struct text_ctx {
	FILE *f;
	int width;
	char **readouts;
	size_t n, alloc;
};

static int text_width(void *ctx, json_t *it)
{
	struct text_ctx *t = ctx;
	int n = (int)strlen(jstr(json_object_get(it, "identity"), "subject"));
	if (n > t->width)
		t->width = n > 40 ? 40 : n;
	return 0;
}

static int text_row(void *ctx, json_t *it)
{
	struct text_ctx *t = ctx;
	FILE *f = t->f;
	json_t *cap = json_object_get(it, "capability");
	json_t *amp = json_object_get(it, "amplifiers");
	char tools[32], flags[128] = "";
	snprintf(tools, sizeof(tools), "%lld/%lld",
		 (long long)json_integer_value(json_object_get(cap, "tools_used")),
		 (long long)json_integer_value(json_object_get(cap, "tools_granted")));
	if (json_is_true(jpath(it, "orphan", "value")))
		strcat(flags, "orphan ");
	if (json_is_true(jpath(it, "interactive_nhi", "value")))
		strcat(flags, "interactive-nhi ");
	if (json_array_size(jpath(it, "scopes", "unused")))
		strcat(flags, "unused-scopes ");
	if (json_is_true(jpath(amp, "L", "static")))
		strcat(flags, "static-credential ");
	char *subject = clean(jstr(json_object_get(it, "identity"), "subject"));
	fprintf(f,
		"%4lld  %-*.*s  %5.1f  %9.1f  %7.0f  %4.2g  %3.2g  %4.3g  %4.3g  %5.0f%%  %-11s  "
		"%s\n",
		(long long)json_integer_value(json_object_get(it, "rank")), t->width, t->width,
		subject, jnum(it, "score"), jnum(it, "mbr"), jnum(cap, "C"),
		jnum(json_object_get(amp, "D"), "value"), jnum(json_object_get(amp, "S"), "value"),
		jnum(json_object_get(amp, "P"), "value"), jnum(json_object_get(amp, "L"), "value"),
		100 * jnum(cap, "unused_privilege"), tools, flags);
	free(subject);
	if (t->n == t->alloc) {
		size_t na = t->alloc ? t->alloc * 2 : 16;
		char **nr = realloc(t->readouts, na * sizeof(*nr));
		if (!nr)
			return -1;
		t->readouts = nr;
		t->alloc = na;
	}
	t->readouts[t->n++] = clean(jstr(it, "readout"));
	return 0;
}

int blast_radius_write_text(struct blast_radius *br, FILE *f)
{
	json_t *head = blast_radius_header(br);
	json_t *w = json_object_get(head, "window");
	struct text_ctx t = {.f = f, .width = 8};
	fprintf(f, "blast radius, window %s .. %s (%g days), %lld identities\n\n", jstr(w, "start"),
		jstr(w, "end"), jnum(w, "days"),
		(long long)json_integer_value(jpath(head, "stats", "identities")));
	int rc = blast_radius_each(br, text_width, &t);
	fprintf(f, "%4s  %-*s  %5s  %9s  %7s  %4s  %3s  %4s  %4s  %6s  %-11s  %s\n", "RANK",
		t.width, "IDENTITY", "SCORE", "MBR", "C", "D", "S", "P", "L", "UNUSED", "TOOLS U/G",
		"FLAGS");
	if (rc == 0)
		rc = blast_radius_each(br, text_row, &t);
	fprintf(f, "\n");
	for (size_t i = 0; i < t.n; i++) {
		fprintf(f, "%s\n", t.readouts[i]);
		free(t.readouts[i]);
	}
	free(t.readouts);
	json_decref(head);
	return rc || ferror(f) ? -1 : 0;
}

/* ---- JSON ---- */

struct json_ctx {
	FILE *f;
	size_t n;
};

static int json_item(void *ctx, json_t *it)
{
	struct json_ctx *j = ctx;
	fputs(j->n++ ? ",\n" : "\n", j->f);
	return json_dumpf(it, j->f, JSON_INDENT(2) | JSON_ENSURE_ASCII);
}

int blast_radius_write_json(struct blast_radius *br, FILE *f)
{
	json_t *head = blast_radius_header(br);
	char *w = json_dumps(json_object_get(head, "window"), JSON_ENSURE_ASCII);
	char *st = json_dumps(json_object_get(head, "stats"), JSON_ENSURE_ASCII);
	fprintf(f, "{\"window\": %s,\n\"stats\": %s,\n\"identities\": [", w ? w : "null",
		st ? st : "null");
	struct json_ctx j = {f, 0};
	int rc = blast_radius_each(br, json_item, &j);
	fputs("\n]}\n", f);
	free(w);
	free(st);
	json_decref(head);
	return rc || ferror(f) ? -1 : 0;
}

/* ---- HTML ---- */

static void esc(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			if ((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n')
				fputc('?', f);
			else
				fputc(*s, f);
		}
	}
}

/* At most max characters (UTF-8 aware), "…" when cut: labels in the SVG have fixed room. */
static void esc_short(FILE *f, const char *s, size_t max)
{
	size_t chars = 0, i = 0;
	for (; s && s[i]; i++) {
		if (((unsigned char)s[i] & 0xC0) != 0x80 && ++chars > max)
			break;
	}
	if (!s || !s[i]) {
		esc(f, s);
		return;
	}
	char *cut = strndup(s, i);
	esc(f, cut);
	free(cut);
	fputs("\xe2\x80\xa6", f);
}

static void evidence_html(FILE *f, json_t *ids, const char *what)
{
	size_t n = json_array_size(ids);
	if (!n) {
		fputs("<span class=\"noev\">no evidence</span>", f);
		return;
	}
	fprintf(f, "<details class=\"ev\"><summary>%zu event id%s", n, n == 1 ? "" : "s");
	if (what) {
		fputs(" · ", f);
		esc(f, what);
	}
	fputs("</summary>", f);
	size_t i;
	json_t *v;
	json_array_foreach(ids, i, v)
	{
		fputs("<code class=\"eid\">", f);
		esc(f, json_string_value(v));
		fputs("</code> ", f);
	}
	fputs("</details>", f);
}

static const char CSS[] =
	"body{font:14px/1.45 system-ui,-apple-system,Segoe "
	"UI,sans-serif;margin:0;background:#f6f7f9;"
	"color:#1d2330}"
	"header{background:#1d2330;color:#fff;padding:18px 28px}header h1{margin:0;font-size:20px}"
	"header p{margin:4px 0 0;color:#b8c0d0}main{padding:20px 28px;max-width:1200px}"
	".card{background:#fff;border-radius:10px;box-shadow:0 1px 3px #0002;padding:16px 20px;"
	"margin:0 0 20px}"
	"h2{margin:0 0 8px;font-size:17px}.score{float:right;font-size:26px;font-weight:700}"
	".readout{font-family:ui-monospace,monospace;font-size:12.5px;background:#f0f2f6;"
	"padding:8px;border-radius:6px;white-space:pre-wrap}"
	"table{border-collapse:collapse;margin:8px 0}td,th{padding:3px 10px 3px 0;text-align:left;"
	"vertical-align:top}th{color:#5a6478;font-weight:600}"
	".chip{display:inline-block;padding:1px 8px;margin:2px;border-radius:10px;font-size:12px}"
	".used{background:#d8f0dd;color:#14532d}.unused{background:#fde2e1;color:#7f1d1d;"
	"text-decoration:line-through}.chal{background:#fef3c7;color:#78350f}"
	".flag{display:inline-block;background:#7f1d1d;color:#fff;border-radius:4px;padding:0 6px;"
	"margin-right:6px;font-size:12px}"
	"details.ev summary{cursor:pointer;color:#3b5bdb;font-size:12px}code.eid{font-size:11px;"
	"color:#445}"
	".noev{color:#99a;font-size:12px}svg text{font:11px system-ui,sans-serif}"
	".legend span{margin-right:14px;font-size:12px}#filter{padding:6px;width:260px}"
	".hidden{display:none}";

static const char JS[] =
	"document.getElementById('filter').addEventListener('input',function(e){"
	"var q=e.target.value.toLowerCase();document.querySelectorAll('section.identity')"
	".forEach(function(s){s.classList.toggle('hidden',q&&s.dataset.name.indexOf(q)<0)});});";

/* ids: the small per-identity rows the chart needs (subject, score, readout) */
static void bar_chart(FILE *f, json_t *ids)
{
	size_t n = json_array_size(ids);
	int row = 26, left = 230, width = 520;
	fprintf(f,
		"<svg id=\"ranking\" role=\"img\" aria-label=\"identities ranked by score\" "
		"width=\"%d\" height=\"%zu\" xmlns=\"http://www.w3.org/2000/svg\">",
		left + width + 60, n * (size_t)row + 10);
	size_t i;
	json_t *it;
	json_array_foreach(ids, i, it)
	{
		double score = jnum(it, "score");
		int y = (int)i * row + 4;
		const char *color = score >= 75 ? "#b91c1c" : score >= 50 ? "#ea580c" : "#2563eb";
		fprintf(f, "<a href=\"#id-%zu\"><text x=\"%d\" y=\"%d\" text-anchor=\"end\">",
			i + 1, left - 8, y + 15);
		esc_short(f, jstr(json_object_get(it, "identity"), "subject"), 32);
		fprintf(f,
			"</text><rect class=\"bar\" x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"18\" "
			"rx=\"3\" fill=\"%s\"><title>",
			left, y + 2, score / 100 * width + 1, color);
		esc(f, jstr(it, "readout"));
		fprintf(f, "</title></rect><text x=\"%.1f\" y=\"%d\">%.0f</text></a>",
			left + score / 100 * width + 6, y + 15, score);
	}
	fputs("</svg>", f);
}

/* identity → actors / identities it became → servers → tools and resource prefixes; used edges
 * solid, merely granted ones dashed; destructive tools red with a mark. */
static void reach_graph(FILE *f, json_t *it, size_t rank)
{
	json_t *ident = json_object_get(it, "identity");
	json_t *servers = json_object_get(it, "reach");
	json_t *mids = json_array();
	json_array_extend(mids, json_object_get(ident, "actors"));
	json_array_extend(mids, json_object_get(ident, "became"));
	const size_t max_leaves = 60;
	size_t leaves = 0, si;
	json_t *s;
	json_array_foreach(servers, si, s)
	{
		leaves += json_array_size(json_object_get(s, "tools")) +
			  json_array_size(json_object_get(s, "resources"));
	}
	size_t shown = leaves < max_leaves ? leaves : max_leaves;
	size_t nserv = json_array_size(servers), nmid = json_array_size(mids);
	size_t rows = shown > nserv ? shown : nserv;
	if (rows < nmid)
		rows = nmid;
	if (rows < 1)
		rows = 1;
	int row = 18, h = (int)rows * row + 30;
	int x_id = 10, x_mid = 190, x_srv = 370, x_leaf = 640;
	fprintf(f,
		"<svg class=\"reach\" id=\"graph-%zu\" width=\"1040\" height=\"%d\" "
		"xmlns=\"http://www.w3.org/2000/svg\">",
		rank, h + (leaves > shown ? 18 : 0));
	int id_y = h / 2;
	int from_x = x_id + 150, from_y = id_y;
	fprintf(f,
		"<g class=\"node identity\"><rect x=\"%d\" y=\"%d\" width=\"150\" height=\"22\" "
		"rx=\"4\" fill=\"#1d2330\"/><text x=\"%d\" y=\"%d\" fill=\"#fff\">",
		x_id, id_y - 11, x_id + 6, id_y + 4);
	esc_short(f, jstr(ident, "subject"), 22);
	fputs("</text></g>", f);
	size_t mi;
	json_t *m;
	int mid_y[24];
	json_array_foreach(mids, mi, m)
	{
		if (mi == 24)
			break; /* the JSON report lists them all */
		int y = (int)(mi * (size_t)h / (nmid + 1)) + (int)(h / (nmid + 1)) / 2 + 6;
		mid_y[mi] = y;
		fprintf(f,
			"<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#7c3aed\"/>"
			"<g class=\"node actor\"><rect x=\"%d\" y=\"%d\" width=\"150\" "
			"height=\"20\" "
			"rx=\"10\" fill=\"#ede9fe\" stroke=\"#7c3aed\"/><text x=\"%d\" y=\"%d\">",
			from_x, from_y, x_mid, y, x_mid, y - 10, x_mid + 6, y + 4);
		esc_short(f, json_string_value(m), 22);
		fputs("</text></g>", f);
	}
	size_t nmid_drawn = nmid < 24 ? nmid : 24;
	size_t leaf = 0;
	json_array_foreach(servers, si, s)
	{
		int sy = nserv ? (int)(si * (size_t)h / nserv) + (int)(h / nserv) / 2 : id_y;
		/* the identity reaches the server itself, or through each actor / identity it
		 * became */
		for (size_t k = 0; k < (nmid_drawn ? nmid_drawn : 1); k++)
			fprintf(f,
				"<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
				"stroke=\"#64748b\"/>",
				nmid_drawn ? x_mid + 150 : from_x, nmid_drawn ? mid_y[k] : from_y,
				x_srv, sy);
		fprintf(f,
			"<g class=\"node server\"><rect x=\"%d\" y=\"%d\" width=\"230\" "
			"height=\"22\" "
			"rx=\"4\" fill=\"#e2e8f0\" stroke=\"#64748b\"/><text x=\"%d\" y=\"%d\">",
			x_srv, sy - 11, x_srv + 6, sy + 4);
		esc_short(f, jstr(s, "name"), 26);
		fprintf(f, " (c=%lld%s)</text></g>",
			(long long)json_integer_value(json_object_get(s, "criticality")),
			json_is_true(json_object_get(s, "trusted")) ? ", trusted" : "");
		static const char *const kinds[] = {"tools", "resources"};
		for (int k = 0; k < 2; k++) {
			size_t ti;
			json_t *t;
			json_array_foreach(json_object_get(s, kinds[k]), ti, t)
			{
				if (leaf >= shown)
					break;
				int y = (int)leaf * row + 20;
				bool used = json_is_true(json_object_get(t, "used"));
				bool destr = strcmp(jstr(t, "class"), "destructive") == 0;
				const char *color = destr ? "#b91c1c" : k ? "#0f766e" : "#2563eb";
				fprintf(f,
					"<line class=\"edge %s\" x1=\"%d\" y1=\"%d\" x2=\"%d\" "
					"y2=\"%d\" stroke=\"%s\" stroke-width=\"%s\"%s/>",
					used ? "used" : "granted", x_srv + 230, sy, x_leaf, y - 4,
					color, used ? "2" : "1",
					used ? "" : " stroke-dasharray=\"4 3\" opacity=\"0.6\"");
				fprintf(f,
					"<g class=\"node %s %s%s\"><circle cx=\"%d\" cy=\"%d\" "
					"r=\"5\" fill=\"%s\" stroke=\"%s\"/><text x=\"%d\" "
					"y=\"%d\"%s>",
					k ? "resource" : "tool", used ? "used" : "granted",
					destr ? " destructive" : "", x_leaf + 5, y - 4,
					used ? color : "#fff", color, x_leaf + 14, y,
					destr ? " fill=\"#b91c1c\"" : "");
				if (destr)
					fputs("\xe2\x9a\xa0 ", f); /* ⚠ */
				esc_short(f, jstr(t, "name"), 48);
				fprintf(f, " \xc2\xb7 w=%g%s<title>", jnum(t, "weight"),
					used ? " \xc2\xb7 used" : "");
				json_t *evd = json_object_get(t, "evidence");
				fputs("granted by ", f);
				size_t ei;
				json_t *e;
				json_array_foreach(json_object_get(evd, "granted"), ei, e)
				{
					esc(f, json_string_value(e));
					fputc(' ', f);
				}
				fputs("; used in ", f);
				json_array_foreach(json_object_get(evd, "used"), ei, e)
				{
					esc(f, json_string_value(e));
					fputc(' ', f);
				}
				fputs("</title></text></g>", f);
				leaf++;
			}
		}
	}
	if (leaves > shown)
		fprintf(f, "<text x=\"%d\" y=\"%d\">… %zu more (see the JSON report)</text>",
			x_leaf, h + 10, leaves - shown);
	fputs("</svg>", f);
	json_decref(mids);
}

static void chips(FILE *f, json_t *list, const char *cls)
{
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
	{
		fprintf(f, "<span class=\"chip %s\">", cls);
		esc(f, json_string_value(v));
		fputs("</span>", f);
	}
}

static void amplifier_row(FILE *f, const char *name, json_t *a, const char *detail)
{
	fprintf(f, "<tr><th>%s</th><td>%g</td><td>", name, jnum(a, "value"));
	esc(f, detail);
	fputs("</td><td>", f);
	evidence_html(f, json_object_get(a, "evidence"), NULL);
	fputs("</td></tr>", f);
}

static void identity_section(FILE *f, json_t *it)
{
	size_t rank = (size_t)json_integer_value(json_object_get(it, "rank"));
	json_t *ident = json_object_get(it, "identity");
	json_t *cap = json_object_get(it, "capability");
	json_t *amp = json_object_get(it, "amplifiers");
	json_t *scopes = json_object_get(it, "scopes");
	fprintf(f, "<section class=\"card identity\" id=\"id-%zu\" data-name=\"", rank);
	/* lower-cased for the filter box */
	for (const char *p = jstr(ident, "subject"); *p; p++) {
		char c[2] = {(char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p), 0};
		esc(f, c);
	}
	fprintf(f, "\"><div class=\"score\" data-score=\"%.2f\">%.0f<small>/100</small></div>",
		jnum(it, "score"), jnum(it, "score"));
	fprintf(f, "<h2>#%zu ", rank);
	esc(f, jstr(ident, "subject"));
	fputs("</h2><div>issuer ", f);
	esc(f, json_is_string(json_object_get(ident, "issuer")) ? jstr(ident, "issuer") : "(none)");
	fputs(" · client ", f);
	json_t *cids = json_object_get(ident, "client_ids");
	esc(f, json_array_size(cids) ? json_string_value(json_array_get(cids, 0)) : "(none)");
	if (json_is_true(json_object_get(ident, "nhi"))) {
		fputs(" · non-human (", f);
		esc(f, jstr(ident, "nhi_reason"));
		fputs(")", f);
	}
	fputs("</div><p>", f);
	if (json_is_true(jpath(it, "orphan", "value")))
		fputs("<span class=\"flag orphan\">orphan: no calls in the window</span>", f);
	if (json_is_true(jpath(it, "interactive_nhi", "value"))) {
		fputs("<span class=\"flag interactive\">interactive use of a non-human identity: ",
		      f);
		esc(f, jstr(json_object_get(it, "interactive_nhi"), "reason"));
		fputs("</span>", f);
		evidence_html(f, jpath(it, "interactive_nhi", "evidence"), "interactive use");
	}
	if (json_is_true(jpath(it, "orphan", "value")))
		evidence_html(f, jpath(it, "orphan", "evidence"), "last seen");
	fputs("</p><div class=\"readout\">", f);
	esc(f, jstr(it, "readout"));
	fputs("</div>", f);

	fputs("<table class=\"components\"><tr><th>component</th><th>value</th><th>what</th>"
	      "<th>evidence</th></tr>",
	      f);
	char detail[256];
	snprintf(detail, sizeof(detail),
		 "%lld tools (%lld used; %lld read, %lld write, %lld destructive), %lld resource "
		 "prefixes, %lld servers",
		 (long long)json_integer_value(json_object_get(cap, "tools_granted")),
		 (long long)json_integer_value(json_object_get(cap, "tools_used")),
		 (long long)json_integer_value(json_object_get(cap, "read")),
		 (long long)json_integer_value(json_object_get(cap, "write")),
		 (long long)json_integer_value(json_object_get(cap, "destructive")),
		 (long long)json_integer_value(json_object_get(cap, "resources_granted")),
		 (long long)json_integer_value(json_object_get(cap, "servers")));
	fprintf(f, "<tr><th>C</th><td>%g</td><td>", jnum(cap, "C"));
	esc(f, detail);
	fputs("</td><td>", f);
	evidence_html(f, json_object_get(cap, "evidence"), "listings");
	fputs("</td></tr>", f);
	json_t *D = json_object_get(amp, "D");
	snprintf(detail, sizeof(detail), "%lld act hops, %zu exchange audiences",
		 (long long)json_integer_value(json_object_get(D, "act_hops")),
		 json_array_size(json_object_get(D, "exchange_audiences")));
	amplifier_row(f, "D", D, detail);
	json_t *S = json_object_get(amp, "S");
	snprintf(detail, sizeof(detail),
		 "client declared sampling.tools: %s; server sent tools: %s",
		 json_is_true(json_object_get(S, "client_sampling_tools")) ? "yes" : "no",
		 json_is_true(json_object_get(S, "server_sent_tools")) ? "yes" : "no");
	amplifier_row(f, "S", S, detail);
	json_t *P = json_object_get(amp, "P");
	snprintf(detail, sizeof(detail), "%lld of %lld tasks outlived their session or token",
		 (long long)json_integer_value(json_object_get(P, "outlived")),
		 (long long)json_integer_value(json_object_get(P, "tasks")));
	amplifier_row(f, "P", P, detail);
	json_t *L = json_object_get(amp, "L");
	snprintf(detail, sizeof(detail), "static credential: %s; token shared by client ids: %zu",
		 json_is_true(json_object_get(L, "static")) ? "yes" : "no",
		 json_array_size(json_object_get(L, "shared_fingerprints")));
	amplifier_row(f, "L", L, detail);
	fprintf(f,
		"<tr><th>MBR</th><td>%.1f</td><td>C·D·S·P·L; score = min(100, 25·log10(1+MBR)) = "
		"%.1f</td><td></td></tr>",
		jnum(it, "mbr"), jnum(it, "score"));
	fprintf(f,
		"<tr><th>1−U</th><td>%.0f%%</td><td>unused privilege (weight of granted but "
		"uncalled tools)</td><td></td></tr></table>",
		100 * jnum(cap, "unused_privilege"));

	fputs("<h3>Reach</h3><div class=\"legend\"><span>── used</span><span>- - granted, never "
	      "used</span><span style=\"color:#b91c1c\">\xe2\x9a\xa0 destructive (or untrusted: "
	      "worst case)</span></div>",
	      f);
	reach_graph(f, it, rank);

	fputs("<h3>Scopes</h3><div class=\"scopes\">", f);
	chips(f, json_object_get(scopes, "used"), "used");
	chips(f, json_object_get(scopes, "unused"), "unused");
	chips(f, json_object_get(scopes, "challenged"), "chal");
	if (!json_array_size(json_object_get(scopes, "granted")))
		fputs("<span class=\"noev\">no scopes granted (no bearer token)</span>", f);
	fputs("</div>", f);
	const char *sk;
	json_t *sv;
	json_object_foreach(json_object_get(scopes, "evidence"), sk, sv)
	{
		fputs("<div>", f);
		esc(f, sk);
		fputs(": ", f);
		evidence_html(f, json_object_get(sv, "granted"), "granted");
		evidence_html(f, json_object_get(sv, "used"), "used");
		fputs("</div>", f);
	}

	fputs("<h3>Top contributors</h3><table class=\"top\"><tr><th>weight</th><th>server</th>"
	      "<th>tool / resource</th><th>class</th><th>used</th><th>evidence</th></tr>",
	      f);
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(it, "top_contributors"), i, t)
	{
		fprintf(f, "<tr><td>%g</td><td>", jnum(t, "weight"));
		esc(f, jstr(t, "server"));
		fputs("</td><td>", f);
		esc(f, jstr(t, "name"));
		fputs("</td><td>", f);
		esc(f, jstr(t, "class"));
		fprintf(f, "</td><td>%s</td><td>",
			json_is_true(json_object_get(t, "used")) ? "yes" : "no");
		evidence_html(f, jpath(t, "evidence", "granted"), "granted");
		evidence_html(f, jpath(t, "evidence", "used"), "used");
		fputs("</td></tr>", f);
	}
	fputs("</table></section>", f);
}

/* A page people read: the highest-ranked identities only (the JSON report has them all). */
#define HTML_MAX_IDENTITIES 200

static int chart_row(void *ctx, json_t *it)
{
	if (json_array_size(ctx) == HTML_MAX_IDENTITIES)
		return 1;
	json_t *row = json_pack("{s:{s:s?}, s:f, s:s?}", "identity", "subject",
				json_string_value(jpath(it, "identity", "subject")), "score",
				jnum(it, "score"), "readout",
				json_string_value(json_object_get(it, "readout")));
	return json_array_append_new(ctx, row);
}

static int section(void *ctx, json_t *it)
{
	if (json_integer_value(json_object_get(it, "rank")) > HTML_MAX_IDENTITIES)
		return 1;
	identity_section(ctx, it);
	return 0;
}

int blast_radius_write_html(struct blast_radius *br, FILE *f)
{
	json_t *head = blast_radius_header(br);
	json_t *w = json_object_get(head, "window");
	json_t *rows = json_array();
	int rc = blast_radius_each(br, chart_row, rows);
	rc = rc == 1 ? 0 : rc;
	long long total = (long long)json_integer_value(jpath(head, "stats", "identities"));
	fputs("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	      "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
	      "<title>mcptrail blast radius</title><style>",
	      f);
	fputs(CSS, f);
	fputs("</style></head><body><header><h1>MCP blast radius</h1><p>window ", f);
	esc(f, jstr(w, "start"));
	fputs(" .. ", f);
	esc(f, jstr(w, "end"));
	fprintf(f, " (%g days) · %zu identities · events %lld</p></header><main>", jnum(w, "days"),
		json_array_size(rows),
		(long long)json_integer_value(jpath(head, "stats", "events")));
	fputs("<div class=\"card\"><h2>Identities ranked by score</h2>"
	      "<input id=\"filter\" placeholder=\"filter identities\">",
	      f);
	bar_chart(f, rows);
	if (total > (long long)json_array_size(rows))
		fprintf(f,
			"<p class=\"noev\">… and %lld more identities ranked lower (the JSON "
			"report "
			"has them all)</p>",
			total - (long long)json_array_size(rows));
	fputs("</div>", f);
	if (rc == 0)
		rc = blast_radius_each(br, section, f);
	rc = rc == 1 ? 0 : rc;
	fputs("<p class=\"noev\">MBR as in the blast-radius reference §4.1; every number lists the "
	      "event ids behind it (newest first kept, capped).</p></main><script>",
	      f);
	fputs(JS, f);
	fputs("</script></body></html>\n", f);
	json_decref(rows);
	json_decref(head);
	return rc || ferror(f) ? -1 : 0;
}
