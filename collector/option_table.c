#include "collector/option_table.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ERRORS 50

/* ---- errors ---- */

void option_error(struct option_context *c, const char *path, const char *fmt, ...)
{
	if (!path)
		path = c->path.data;
	c->nerrors++;
	if (c->nerrors > MAX_ERRORS)
		return;
	if (c->nerrors == MAX_ERRORS) {
		strbuf_printf(c->errors, "%s: (more errors not shown)\n", c->source);
		return;
	}
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (path && *path)
		strbuf_printf(c->errors, "%s: %s: %s\n", c->source, path, msg);
	else
		strbuf_printf(c->errors, "%s: %s\n", c->source, msg);
}

#define ERR(c, ...) option_error((c), NULL, __VA_ARGS__)

size_t option_path_push(struct option_context *c, const char *key)
{
	size_t mark = c->path.len;
	strbuf_printf(&c->path, "%s%s", mark ? "." : "", key);
	return mark;
}

static size_t path_push_index(struct option_context *c, size_t i)
{
	size_t mark = c->path.len;
	strbuf_printf(&c->path, "[%zu]", i);
	return mark;
}

void option_path_pop(struct option_context *c, size_t mark)
{
	c->path.len = mark;
	if (c->path.data)
		c->path.data[mark] = '\0';
}

/* A short rendering of a value for messages. */
static void render(const json_t *v, char *out, size_t len)
{
	char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	if (!s) {
		snprintf(out, len, "?");
		return;
	}
	if (strlen(s) > 60)
		snprintf(out, len, "%.57s...", s);
	else
		snprintf(out, len, "%s", s);
	free(s);
}

static void choices_text(const char *const *choices, char *out, size_t len)
{
	size_t n = 0;
	out[0] = '\0';
	for (size_t i = 0; choices[i] && n < len; i++)
		n += (size_t)snprintf(out + n, len - n, "%s\"%s\"", i ? ", " : "", choices[i]);
}

/* ---- reading values ---- */

/* Stores a value given as text (a default from a table); false when it does not parse. */
static bool set_from_text(const struct option *o, const char *text, char *base)
{
	void *field = base + o->offset;
	switch (o->type) {
	case OPTION_STRING: {
		char **p = field;
		free(*p);
		*p = strdup(text);
		return *p != NULL;
	}
	case OPTION_BOOL:
		*(bool *)field = strcmp(text, "true") == 0;
		return true;
	case OPTION_UINT:
		*(uint64_t *)field = strtoull(text, NULL, 10);
		return true;
	case OPTION_SIZE:
		return parse_size(text, (size_t *)field);
	case OPTION_SECONDS:
		*(double *)field = strtod(text, NULL);
		return true;
	case OPTION_ENUM:
		for (int i = 0; o->choices[i]; i++)
			if (strcmp(o->choices[i], text) == 0) {
				*(int *)field = i;
				return true;
			}
		return false;
	case OPTION_OBJECT:
	case OPTION_ARRAY:
		return false;
	}
	return false;
}

void option_table_defaults(const struct option *opts, void *base)
{
	for (const struct option *o = opts; o->name; o++) {
		if (o->type == OPTION_OBJECT)
			option_table_defaults(o->section->options, base);
		else if (o->def)
			set_from_text(o, o->def, base);
	}
}

static bool in_range(const struct option *o, double x)
{
	return x >= o->min && x <= o->max;
}

static void parse_array(struct option_context *c, const struct option *o, json_t *v, char *base)
{
	if (!json_is_array(v)) {
		char got[80];
		render(v, got, sizeof(got));
		ERR(c, "expected an array of objects, got %s", got);
		return;
	}
	size_t n = json_array_size(v);
	if ((double)n < o->min || (o->max > 0 && (double)n > o->max)) {
		if (o->max > 0)
			ERR(c, "expected %.15g to %.15g entries, got %zu", o->min, o->max, n);
		else
			ERR(c, "expected at least %.15g entries, got %zu", o->min, n);
		return;
	}
	const struct option_section *sec = o->section;
	char *items = n ? calloc(n, sec->elem_size) : NULL;
	if (n && !items) {
		ERR(c, "out of memory");
		return;
	}
	*(char **)(base + o->offset) = items;
	*(size_t *)(base + o->count_offset) = n;
	for (size_t i = 0; i < n; i++) {
		size_t mark = path_push_index(c, i);
		option_table_parse(c, sec, json_array_get(v, i), items + i * sec->elem_size);
		option_path_pop(c, mark);
	}
}

static void parse_value(struct option_context *c, const struct option *o, json_t *v, char *base)
{
	void *field = base + o->offset;
	char got[80], range[96], why[256];
	render(v, got, sizeof(got));
	snprintf(range, sizeof(range), "from %.15g to %.15g", o->min, o->max);
	switch (o->type) {
	case OPTION_STRING:
		if (o->validate && !json_is_string(v)) {
			ERR(c, "expected %s, got %s", o->expected, got);
			return;
		}
		if (!json_is_string(v) || json_string_length(v) == 0) {
			ERR(c, "expected a %sstring like \"%s\", got %s",
			    json_is_string(v) ? "non-empty " : "", o->example ? o->example : "...",
			    got);
			return;
		}
		if (strlen(json_string_value(v)) != json_string_length(v)) {
			ERR(c, "expected a string without NUL characters");
			return;
		}
		if (o->validate && !o->validate(json_string_value(v), why, sizeof(why))) {
			ERR(c, "expected %s, got %s: %s", o->expected, got, why);
			return;
		}
		set_from_text(o, json_string_value(v), base);
		return;
	case OPTION_BOOL:
		if (!json_is_boolean(v)) {
			ERR(c, "expected true or false, got %s", got);
			return;
		}
		*(bool *)field = json_is_true(v);
		return;
	case OPTION_UINT:
		if (!json_is_integer(v) || !in_range(o, (double)json_integer_value(v))) {
			ERR(c, "expected an integer %s, got %s", range, got);
			return;
		}
		*(uint64_t *)field = (uint64_t)json_integer_value(v);
		return;
	case OPTION_SIZE: {
		size_t size = 0;
		bool ok = json_is_integer(v) ? json_integer_value(v) >= 0 &&
						       (size = (size_t)json_integer_value(v), true)
			  : json_is_string(v) ? parse_size(json_string_value(v), &size)
					      : false;
		if (!ok || !in_range(o, (double)size)) {
			ERR(c,
			    "expected a size (bytes, or a string like \"%s\" with K, M or G) %s "
			    "bytes, got %s",
			    o->def ? o->def : "64M", range, got);
			return;
		}
		*(size_t *)field = size;
		return;
	}
	case OPTION_SECONDS:
		if (!json_is_number(v) || !isfinite(json_number_value(v)) ||
		    !in_range(o, json_number_value(v))) {
			ERR(c, "expected a number of seconds %s, got %s", range, got);
			return;
		}
		*(double *)field = json_number_value(v);
		return;
	case OPTION_ENUM: {
		char list[256];
		choices_text(o->choices, list, sizeof(list));
		if (!json_is_string(v) || !set_from_text(o, json_string_value(v), base))
			ERR(c, "expected one of %s, got %s", list, got);
		return;
	}
	case OPTION_OBJECT:
		option_table_parse(c, o->section, v, base);
		return;
	case OPTION_ARRAY:
		parse_array(c, o, v, base);
		return;
	}
}

static void unknown_key(struct option_context *c, const char *key, const struct option *opts,
			const char *variant_key)
{
	struct strbuf names = STRBUF_INIT;
	if (variant_key)
		strbuf_append_str(&names, variant_key);
	for (const struct option *o = opts; o->name; o++)
		strbuf_printf(&names, "%s%s", names.len ? ", " : "", o->name);
	char shown[80];
	json_t *k = json_string(key);
	render(k, shown, sizeof(shown));
	json_decref(k);
	ERR(c, "unknown key %s (expected one of: %s)", shown, names.data ? names.data : "");
	strbuf_free(&names);
}

/* The options of a section with variants, from the variant_key member; NULL after an error. */
static const struct option *pick_variant(struct option_context *c, const struct option_section *sec,
					 json_t *v, char *base)
{
	json_t *t = json_object_get(v, sec->variant_key);
	char list[256];
	size_t nv = 0;
	const char *names[16];
	for (const struct option_variant *var = sec->variants; var->value && nv < 15; var++)
		names[nv++] = var->value;
	names[nv] = NULL;
	choices_text(names, list, sizeof(list));
	size_t mark = option_path_push(c, sec->variant_key);
	const struct option_variant *found = NULL;
	for (const struct option_variant *var = sec->variants; t && var->value; var++)
		if (json_is_string(t) && strcmp(json_string_value(t), var->value) == 0)
			found = var;
	if (!t) {
		ERR(c, "missing: expected one of %s", list);
	} else if (!found) {
		char got[80];
		render(t, got, sizeof(got));
		ERR(c, "expected one of %s, got %s", list, got);
	}
	option_path_pop(c, mark);
	if (!found)
		return NULL;
	*(int *)(base + sec->variant_offset) = (int)(found - sec->variants);
	return found->options;
}

void option_table_parse(struct option_context *c, const struct option_section *sec, json_t *v,
			void *base_)
{
	char *base = base_;
	if (!json_is_object(v)) {
		char got[80];
		render(v, got, sizeof(got));
		ERR(c, "expected an object, got %s", got);
		return;
	}
	const struct option *opts = sec->options;
	if (sec->variant_key && !(opts = pick_variant(c, sec, v, base)))
		return;
	if (sec->elem_size)
		option_table_defaults(opts, base); /* array elements (objects: with the top) */
	const char *key;
	json_t *value;
	json_object_foreach(v, key, value)
	{
		if (sec->variant_key && strcmp(key, sec->variant_key) == 0)
			continue;
		const struct option *o = opts;
		while (o->name && strcmp(o->name, key) != 0)
			o++;
		if (!o->name) {
			unknown_key(c, key, opts, sec->variant_key);
			continue;
		}
		size_t mark = option_path_push(c, key);
		parse_value(c, o, value, base);
		option_path_pop(c, mark);
	}
	for (const struct option *o = opts; o->name; o++) {
		if ((o->flags & OPTION_REQUIRED) && !json_object_get(v, o->name)) {
			size_t mark = option_path_push(c, o->name);
			ERR(c, "missing (required): %s", o->help);
			option_path_pop(c, mark);
		}
	}
	if (sec->check)
		sec->check(c, base);
}

/* ---- the reference ---- */

static const char *type_text(const struct option *o)
{
	switch (o->type) {
	case OPTION_STRING:
		return o->validate ? o->expected : "string";
	case OPTION_BOOL:
		return "boolean";
	case OPTION_UINT:
		return "integer";
	case OPTION_SIZE:
		return "size";
	case OPTION_SECONDS:
		return "seconds";
	case OPTION_ENUM:
		return "one of";
	case OPTION_OBJECT:
		return "object";
	case OPTION_ARRAY:
		return "array of objects";
	}
	return "?";
}

void option_table_reference(FILE *out, const char *prefix, const struct option *opts)
{
	for (const struct option *o = opts; o->name; o++) {
		char key[128], detail[256];
		snprintf(key, sizeof(key), "%s%s%s", prefix, o->name,
			 o->type == OPTION_ARRAY ? "[]" : "");
		size_t n = (size_t)snprintf(detail, sizeof(detail), "%s", type_text(o));
		if (o->type == OPTION_ENUM) {
			char list[200];
			choices_text(o->choices, list, sizeof(list));
			n += (size_t)snprintf(detail + n, sizeof(detail) - n, " %s", list);
		}
		if ((o->type == OPTION_UINT || o->type == OPTION_SECONDS ||
		     o->type == OPTION_SIZE) &&
		    n < sizeof(detail))
			n += (size_t)snprintf(detail + n, sizeof(detail) - n, ", %.15g..%.15g%s",
					      o->min, o->max,
					      o->type == OPTION_SIZE ? " bytes" : "");
		if (o->flags & OPTION_REQUIRED && n < sizeof(detail))
			n += (size_t)snprintf(detail + n, sizeof(detail) - n, ", required");
		else if (o->def && n < sizeof(detail))
			n += (size_t)snprintf(detail + n, sizeof(detail) - n, ", default %s",
					      o->def);
		fprintf(out, "  %-34s %s\n      %s\n", key, detail, o->help);
		char sub[160];
		const struct option_section *sec = o->section;
		if (o->type == OPTION_OBJECT) {
			snprintf(sub, sizeof(sub), "%s%s.", prefix, o->name);
			option_table_reference(out, sub, sec->options);
		} else if (o->type == OPTION_ARRAY && sec->variants) {
			snprintf(sub, sizeof(sub), "%s%s[].", prefix, o->name);
			for (const struct option_variant *v = sec->variants; v->value; v++) {
				fprintf(out, "  %s%s[] with \"%s\": \"%s\": %s\n", prefix, o->name,
					sec->variant_key, v->value, v->help);
				option_table_reference(out, sub, v->options);
			}
		} else if (o->type == OPTION_ARRAY) {
			snprintf(sub, sizeof(sub), "%s%s[].", prefix, o->name);
			option_table_reference(out, sub, sec->options);
		}
	}
}
