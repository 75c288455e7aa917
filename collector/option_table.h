/* option_table: configuration described by tables, read from JSON.
 *
 * A plugin (an input type, the spool, a sink) lists its options once: name, type, default, where
 * the value goes (offset in the plugin's struct), help. From that one table come the defaults,
 * the validation of a JSON object (unknown keys, types, ranges, choices, required keys: each
 * problem reported with its JSON path) and the reference text for --help and the docs
 * (STYLE.md). Rules between members live in a section's check callback. */
#ifndef MCPTRAIL_OPTION_TABLE_H
#define MCPTRAIL_OPTION_TABLE_H

#include "collector/util.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum option_type {
	OPTION_STRING,	/* char * (owned), non-empty; .validate for more */
	OPTION_BOOL,	/* bool */
	OPTION_UINT,	/* uint64_t in [min, max] */
	OPTION_SIZE,	/* size_t: bytes, or a string like "64M", in [min, max] */
	OPTION_SECONDS, /* double in [min, max] */
	OPTION_ENUM,	/* int: index into choices */
	OPTION_OBJECT,	/* a nested object whose members go in the same struct */
	OPTION_ARRAY,	/* an array of objects: a pointer at offset, a size_t at count_offset */
};

enum { OPTION_REQUIRED = 1 };

struct option_section;
struct option_context;

struct option {
	const char *name;
	enum option_type type;
	const char *def; /* default, written as in the file ("300", "4K", "block"); NULL: none */
	size_t offset;
	const char *help;
	unsigned flags;
	double min, max;	    /* numbers, sizes; arrays: entries (max 0: no limit) */
	const char *const *choices; /* OPTION_ENUM, NULL-terminated */
	const struct option_section *section; /* OPTION_OBJECT, OPTION_ARRAY */
	size_t count_offset;		      /* OPTION_ARRAY */
	const char *example;		      /* OPTION_STRING: "expected a string like ..." */
	/* OPTION_STRING: the value must also pass this (false with why); expected says what a
	 * valid value looks like */
	bool (*validate)(const char *value, char *why, size_t whylen);
	const char *expected;
};

struct option_variant {
	const char *value; /* of the section's variant_key member */
	const struct option *options;
	const char *help;
};

struct option_section {
	const struct option *options; /* NULL-name terminated; NULL when variants pick them */
	size_t elem_size;	      /* as an array element */
	const char *variant_key;      /* the member that picks the options ("type") */
	size_t variant_offset;	      /* int: index into variants */
	const struct option_variant *variants; /* NULL-value terminated */
	/* rules between members, after they are read (base: the struct) */
	void (*check)(struct option_context *c, void *base);
};

struct option_context {
	const char *source;    /* the file, first on every error line */
	struct strbuf *errors; /* one line per problem */
	unsigned nerrors;
	struct strbuf path; /* JSON path of the value being read */
};

/* Reports a problem at path (NULL: the value being read). */
void option_error(struct option_context *c, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Appends .key to the path (key at the top); returns the mark to pop back to. */
size_t option_path_push(struct option_context *c, const char *key);
void option_path_pop(struct option_context *c, size_t mark);

/* Stores every default of opts (and of nested objects) in base. */
void option_table_defaults(const struct option *opts, void *base);
/* Reads the JSON object v into base, as sec describes it. Problems go to c->errors. */
void option_table_parse(struct option_context *c, const struct option_section *sec, json_t *v,
			void *base);
/* The reference of opts: one entry per key (prefix + name), its type, range, default, help. */
void option_table_reference(FILE *out, const char *prefix, const struct option *opts);

#endif
