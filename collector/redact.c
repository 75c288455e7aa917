/* redact: see redact.h. The built-in rules are the table below; the engine runs each rule over
 * the original text, collects the byte ranges they match, merges overlapping ranges and writes
 * one placeholder per merged range. */
#include "collector/redact.h"

#include "collector/util.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLACEHOLDER_KEY "[REDACTED:key]"
#define PLACEHOLDER_DEPTH "[REDACTED:depth]"
#define PLACEHOLDER_ERROR "[REDACTED:error]"

/* ---- built-in rules ----------------------------------------------------------------------- */

/* Pattern fragments. A token starts where no token character precedes it. */
#define TOKEN_START "(?<![A-Za-z0-9_-])"
/* After a name: its closing quote (maybe JSON-escaped) and a separator (= : => :=). */
#define ASSIGN "(?:\\\\?[\"'])?\\s*+(?:=>|:=|=|:)\\s*+"
/* The opening quote of a value (maybe JSON-escaped). */
#define OPEN_QUOTE "(?:\\\\?[\"'])?"
/* A slash, maybe JSON-escaped (PHP writes \/). */
#define SLASH "\\\\?/"
/* The value after ASSIGN, \K'd: a "double-quoted" (JSON escapes allowed), \"escaped\" or
 * 'single-quoted' string up to its closing quote (or the end of the line when it is missing), or
 * a bare word up to whitespace or punctuation that ends values in URLs, shells and configs.
 * A bare word is not a secret when it is code rather than a value: a keyword or literal
 * (token = await fetch(), "token": null), a call or index (getToken(), env["X"]), a variable
 * reference ($TOKEN, ${{ secrets.X }}, $(cat f), %TOKEN%). */
#define BARE_VALUE "[^\\s\"'`,;&<>(){}\\[\\]]"
#define SECRET_VALUE                                                                               \
	"(?:\"\\K(?:[^\"\\\\\\r\\n]++|\\\\.)++"                                                    \
	"|\\\\\"\\K(?:[^\"\\\\\\r\\n]++|\\\\[^\"])++"                                              \
	"|'\\K[^'\\r\\n]++"                                                                        \
	"|\\K(?!(?:await|new|null|nil|none|true|false|undefined|this|self|function|lambda|"        \
	"require)(?![A-Za-z0-9_])|\\$[{(]|\\$[A-Za-z_][A-Za-z0-9_]*+(?!" BARE_VALUE ")|"           \
	"%[A-Za-z_][A-Za-z0-9_]*+%)" BARE_VALUE "++(?![(\\[]))"
/* Name parts that say "the value is about the secret, not the secret" when they end a name. */
#define QUALIFIER_END                                                                              \
	"(?![_.-]?(?:count|len|length|limits?|max|min|size|types?|kind|ur[li]|endpoint|expiry|"    \
	"expires|expiration|ttl|timeout|names?|path|file|filename|dir|ids?|format|policy|enabled|" \
	"required)" ASSIGN ")"
#define UUID "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
#define AWS_SECRET "\\K[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])"
#define AZURE_KEY "[A-Za-z0-9+/]{20,}+={0,2}+"
/* The user part of a URL (it may be an e-mail address) */
#define URL_USER "[^\\s:/?#\"'<>\\\\]*+"
/* The value assigned to a name that contains word (case-insensitively). The name may go on
 * with camelCase or after a separator (githubTokenValue, token_2) but not with lowercase
 * letters (tokenizer, author), and may not end with a qualifier (token_count). */
#define SECRET_ASSIGNMENT(word)                                                                    \
	{                                                                                          \
		"secret-assignment",                                                               \
			"(?i)" word QUALIFIER_END                                                  \
			"(?:(?-i:[A-Z][a-z])[A-Za-z0-9_.-]*+|[_.-][A-Za-z0-9_.-]*+)?+" ASSIGN      \
				SECRET_VALUE,                                                      \
			NULL                                                                       \
	}

/* "Basic <b64>" is a credential only when it decodes to printable "user:password". */
static bool accept_basic_credentials(const char *match, size_t len)
{
	struct strbuf b = STRBUF_INIT;
	bool ok = base64_decode_append(&b, match, len) && b.len >= 2 && memchr(b.data, ':', b.len);
	for (size_t i = 0; ok && i < b.len; i++)
		ok = (unsigned char)b.data[i] >= 0x20 && b.data[i] != 0x7f;
	strbuf_free(&b);
	return ok;
}

struct builtin_rule {
	const char *name;
	const char *pattern;
	bool (*accept)(const char *match, size_t len);
};

/* Order matters only for naming: when matches of two rules start at the same byte, the earlier
 * rule names the placeholder. Specific formats come first, context rules after them. */
static const struct builtin_rule builtin_rules[] = {
	/* PEM: the body between the BEGIN and END lines; RSA, EC, DSA, OPENSSH, ENCRYPTED, PGP ...
	 * PRIVATE KEY (BLOCK). When END is missing (cut off), up to the first quote: the end of the
	 * JSON string or shell word that held it. */
	{"private-key",
	 "-----BEGIN[A-Z0-9 ]{0,40} PRIVATE KEY(?: BLOCK)?-----\\K(?:[^\"'`-]++|-(?!----END))++",
	 NULL},
	/* Service-account key files: "private_key" / "private_key_id" values, also double-encoded
	 */
	{"gcp-service-account-key",
	 "\\\\?\"private_key(?:_id)?\\\\?\"\\s*+:\\s*+\\\\?\"\\K(?:[^\"\\\\]++|\\\\[^\"])++", NULL},
	{"age-secret-key", "AGE-SECRET-KEY-1[0-9A-Z]{58}", NULL},
	{"jwt",
	 TOKEN_START "eyJ[A-Za-z0-9_-]{10,}+\\.[A-Za-z0-9_-]*+\\.[A-Za-z0-9_-]*+"
		     "(?:\\.[A-Za-z0-9_-]*+\\.[A-Za-z0-9_-]++)?",
	 NULL},
	{"aws-access-key-id",
	 "(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}(?![A-Za-z0-9])", NULL},
	/* a rule per leading word: one literal to search for is much faster than an alternation */
	{"aws-secret-access-key",
	 "(?i)aws[_.-]?secret[_.-]?(?:access[_.-]?)?key" ASSIGN OPEN_QUOTE AWS_SECRET, NULL},
	{"aws-secret-access-key", "(?i)secret[_.-]?access[_.-]?key" ASSIGN OPEN_QUOTE AWS_SECRET,
	 NULL},
	/* presigned URLs are bearer credentials until they expire */
	{"url-signature",
	 "[?&;](?i:X-Amz-Signature|X-Amz-Security-Token|X-Goog-Signature|Signature)=\\K"
	 "[^&\\s\"'#]++",
	 NULL},
	{"gcp-api-key", TOKEN_START "AIza[0-9A-Za-z_-]{35}", NULL},
	{"google-oauth-client-secret", TOKEN_START "GOCSPX-[A-Za-z0-9_-]{20,}+", NULL},
	{"google-oauth-token", TOKEN_START "ya29\\.[A-Za-z0-9_-]{20,}+", NULL},
	{"google-oauth-token", "(?<![A-Za-z0-9/])1//0[A-Za-z0-9_-]{40,}+", NULL},
	{"azure-storage-key", "(?i)AccountKey\\s*+=\\s*+\\K" AZURE_KEY, NULL},
	{"azure-storage-key", "(?i)SharedAccessKey\\s*+=\\s*+\\K" AZURE_KEY, NULL},
	{"azure-sas-signature",
	 "(?<![A-Za-z0-9_])sig=\\K(?:[A-Za-z0-9+/]|%[0-9A-Fa-f]{2}){16,}+=*+", NULL},
	{"azure-ad-client-secret",
	 "(?<![A-Za-z0-9_~.-])[A-Za-z0-9_~.-]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34}(?![A-Za-z0-9_~.-])",
	 NULL},
	{"github-token", "(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{36,}+", NULL},
	{"github-token", "(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9_]{22,}+", NULL},
	{"gitlab-token",
	 TOKEN_START "gl(?:pat|dt|rt|ptt|soat|agent|cbt|imt|ft)-[A-Za-z0-9_.-]{20,}+", NULL},
	{"gitlab-token", TOKEN_START "GR1348941[A-Za-z0-9_-]{20,}+", NULL},
	{"slack-token", TOKEN_START "xox[abposre]-[A-Za-z0-9-]{10,}+", NULL},
	{"slack-token", TOKEN_START "xapp-[0-9]+-[A-Za-z0-9-]{10,}+", NULL},
	{"slack-webhook",
	 "hooks\\.slack\\.com" SLASH "(?:services|workflows|triggers)" SLASH
	 "\\K[A-Za-z0-9_/+\\\\-]{8,}+",
	 NULL},
	{"stripe-key", "(?<![A-Za-z0-9_])[sr]k_(?:live|test)_[A-Za-z0-9]{10,}+", NULL},
	{"stripe-key", "(?<![A-Za-z0-9_])whsec_[A-Za-z0-9+/]{24,}+={0,2}+", NULL},
	{"anthropic-api-key", TOKEN_START "sk-ant-[A-Za-z0-9_-]{20,}+", NULL},
	{"openai-api-key",
	 TOKEN_START "sk-(?:(?:proj|svcacct|admin|None)-[A-Za-z0-9_-]{20,}+|"
		     "[A-Za-z0-9]{20,}+[A-Za-z0-9_-]*+)",
	 NULL},
	{"twilio-api-key", "(?<![A-Za-z0-9])SK[0-9a-fA-F]{32}(?![A-Za-z0-9])", NULL},
	/* account SID and auth token as basic-auth user:password */
	{"twilio-credentials", "(?<![A-Za-z0-9])AC[0-9a-fA-F]{32}:[A-Za-z0-9]{32}(?![A-Za-z0-9])",
	 NULL},
	{"sendgrid-api-key", TOKEN_START "SG\\.[A-Za-z0-9_-]{16,32}\\.[A-Za-z0-9_-]{16,64}+", NULL},
	{"mailgun-api-key", TOKEN_START "key-[0-9a-zA-Z]{32}(?![A-Za-z0-9])", NULL},
	{"npm-token", "(?<![A-Za-z0-9_])npm_[A-Za-z0-9]{36,}+", NULL},
	{"pypi-token", TOKEN_START "pypi-Ag[A-Za-z0-9_-]{50,}+", NULL},
	{"dockerhub-token", "(?<![A-Za-z0-9_])dckr_(?:pat|oat)_[A-Za-z0-9_-]{20,}+", NULL},
	{"heroku-api-key", "(?i)heroku[A-Za-z0-9_.-]{0,30}" ASSIGN OPEN_QUOTE "\\K" UUID, NULL},
	{"heroku-api-key", TOKEN_START "HRKU-[A-Za-z0-9_-]{20,}+", NULL},
	{"shopify-token", "(?<![A-Za-z0-9_])shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}", NULL},
	{"atlassian-api-token", TOKEN_START "ATATT[A-Za-z0-9_=-]{20,}+", NULL},
	{"datadog-api-key",
	 "(?i)(?:datadog|dd)[_.-]?(?:api|app|application)[_.-]?key" ASSIGN OPEN_QUOTE
	 "\\K[0-9a-fA-F]{32,40}(?![0-9a-fA-F])",
	 NULL},
	{"huggingface-token", "(?<![A-Za-z0-9_])(?:hf_|api_org_)[A-Za-z0-9]{30,}+", NULL},
	{"digitalocean-token", "(?<![A-Za-z0-9_])do[por]_v1_[a-fA-F0-9]{64}", NULL},
	{"discord-bot-token",
	 "(?<![A-Za-z0-9_.-])[MNO][A-Za-z0-9_-]{23,27}\\.[A-Za-z0-9_-]{6,7}"
	 "\\.[A-Za-z0-9_-]{27,40}(?![A-Za-z0-9_.-])",
	 NULL},
	{"discord-webhook",
	 "discord(?:app)?\\.com" SLASH "api" SLASH "webhooks" SLASH "[0-9]{17,20}" SLASH
	 "\\K[A-Za-z0-9_-]{20,}+",
	 NULL},
	/* <bot id>:<35 characters>; the bot id stays */
	{"telegram-bot-token", "(?<=[0-9]{6}):\\K[A-Za-z0-9_-]{35}(?![A-Za-z0-9_-])", NULL},
	{"databricks-token", "(?<![A-Za-z0-9_])dapi[a-f0-9]{32}(?:-[0-9]+)?+", NULL},
	{"vault-token", TOKEN_START "hv[sbr]\\.[A-Za-z0-9_-]{24,}+", NULL},
	{"groq-api-key", TOKEN_START "gsk_[A-Za-z0-9]{48,}+", NULL},
	{"linear-api-key", TOKEN_START "lin_api_[A-Za-z0-9]{40,}+", NULL},
	{"notion-token", TOKEN_START "secret_[A-Za-z0-9]{43}(?![A-Za-z0-9])", NULL},
	{"notion-token", TOKEN_START "ntn_[A-Za-z0-9]{40,}+", NULL},
	{"postman-api-key", TOKEN_START "PMAK-[a-f0-9]{24}-[a-f0-9]{34}", NULL},
	{"newrelic-api-key", TOKEN_START "NRAK-[A-Z0-9]{27}", NULL},
	{"grafana-token", TOKEN_START "glc_[A-Za-z0-9+/]{32,}+={0,2}+", NULL},
	{"grafana-token", TOKEN_START "glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}", NULL},
	{"sentry-token", TOKEN_START "sntr[ysu]s?_[A-Za-z0-9+/=_-]{40,}+", NULL},
	{"doppler-token", TOKEN_START "dp\\.(?:pt|st|sa|ct|scim|audit)\\.[A-Za-z0-9]{40,}+", NULL},
	{"pulumi-token", TOKEN_START "pul-[a-f0-9]{40}", NULL},
	{"square-token", TOKEN_START "sq0(?:atp|csp)-[A-Za-z0-9_-]{22,}+", NULL},
	{"mapbox-secret-token", TOKEN_START "sk\\.eyJ[A-Za-z0-9_-]{20,}+\\.[A-Za-z0-9_-]{20,}+",
	 NULL},
	{"replicate-token", TOKEN_START "r8_[A-Za-z0-9]{37}", NULL},
	/* Database URLs: the password may also contain '/', '?' and '#'. The scheme is looked
	 * behind so that the search starts from the ':'. */
	{"database-url-password",
	 "(?i)(?<=postgres|postgresql|mysql|mariadb|mongodb|mongodb\\+srv|redis|rediss|amqp|amqps|"
	 "mssql|sqlserver|clickhouse|cockroachdb|oracle):(?:" SLASH "){2}" URL_USER
	 ":\\K[^\\s\"'<>\\\\]+(?=@)",
	 NULL},
	/* scheme://user:password@host: the password only. It may contain '@' (the last one before
	 * the host ends it) but not '/', which would make it a path (host:port/path@x). */
	{"url-password", ":(?:" SLASH "){2}" URL_USER ":\\K[^\\s/?#\"'<>\\\\]+(?=@)", NULL},
	/* ADO/ODBC "Server=x;User ID=sa;Password=p w;": after a ';', up to the next ';' or quote
	 * (spaces included) */
	{"connection-string-password", ";\\s*+(?i:pwd|password)\\s*+=\\s*+\\K[^;\"'\\r\\n]++",
	 NULL},
	/* Authorization: <scheme> <credentials> (also Proxy-Authorization): the credentials, up to
	 * the end of the line or string */
	{"authorization-header",
	 "(?i)\\bauthorization" ASSIGN OPEN_QUOTE
	 "(?:(?:bearer|basic|token|digest|negotiate|ntlm|aws4-hmac-sha256)\\s++)?+"
	 "\\K[^\"'\\\\\\r\\n]++",
	 NULL},
	{"bearer-token",
	 "(?i)\\bbearer\\s++\\K(?:(?=[A-Za-z0-9._~+/-]*?[0-9])[A-Za-z0-9._~+/-]{8,}+"
	 "|[A-Za-z0-9._~+/-]{20,}+)=*+",
	 NULL},
	{"basic-auth", "(?i)\\bbasic\\s++\\K[A-Za-z0-9+/]{6,}+={0,2}+", accept_basic_credentials},
	/* Cookie: and Set-Cookie: headers, the whole value */
	{"cookie-header",
	 "(?i)\\bcookie(?:\\\\?[\"'])?\\s*+:\\s*+" OPEN_QUOTE "\\K[^\"'\\\\\\r\\n]++", NULL},
	/* .netrc: [machine host] login user password secret */
	{"netrc-password", "(?i)\\blogin\\s++[^\\s\"]++\\s++password\\s++\\K[^\\s\"\\\\]++", NULL},
	/* curl -u user:password, --user, --proxy-user (not docker's -u 1000:1000) */
	{"cli-basic-auth",
	 "(?<![A-Za-z0-9_-])(?:-u|--user|--proxy-user)(?:\\s++|=)?+[\"']?+"
	 "[^\\s:\"'@]++:\\K(?![0-9]++(?:[\\s\"']|$))[^\\s\"']++",
	 NULL},
	/* --password secret, --api-key=..., -token x: a flag whose name ends in a secret word */
	{"cli-secret-flag",
	 "(?<![A-Za-z0-9_-])--?+[A-Za-z0-9_-]*?(?i:password|passwd|passphrase|token|secret|api-?"
	 "key|"
	 "access-?key|private-?key|credentials?)(?![A-Za-z0-9_-])(?:\\s++|=)(?!-)\\K"
	 "(?:\"[^\"]*+\"|'[^']*+'|[^\\s\"']++)",
	 NULL},
	{"xml-secret-element",
	 "(?i)<([A-Za-z0-9_:.-]*?(?:password|passwd|secret|token|api[_-]?key|access[_-]?key|"
	 "private[_-]?key|credentials?))>\\K[^<]++(?=</\\1>)",
	 NULL},
	/* name=value, name: value, "name": "value" where the name looks secret (the words of
	 * redact_key_looks_secret): the value only. One rule per word, for speed. */
	SECRET_ASSIGNMENT("secrets?"),
	SECRET_ASSIGNMENT("token"),
	SECRET_ASSIGNMENT("pass(?:w(?:or)?ds?|phrase)"),
	SECRET_ASSIGNMENT("api[_.-]?keys?"),
	SECRET_ASSIGNMENT("access[_.-]?keys?"),
	SECRET_ASSIGNMENT("private[_.-]?keys?"),
	SECRET_ASSIGNMENT("cred(?:entials?|s)"),
	SECRET_ASSIGNMENT("auth"),
	SECRET_ASSIGNMENT("cookies?"),
	SECRET_ASSIGNMENT("session"),
	SECRET_ASSIGNMENT("jwt"),
};

/* ---- the redactor ------------------------------------------------------------------------- */

struct redact_rule {
	char *name;
	char *replacement; /* NULL: "[REDACTED:<name or mark>]" */
	pcre2_code *code;
	bool (*accept)(const char *match, size_t len);
};

struct redactor {
	struct redact_rule *rules;
	size_t nrules;
	uint32_t ovector_pairs;
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static bool valid_rule_name(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

/* Compiles one rule into r->rules[r->nrules]. false with err set on a bad pattern. */
static bool add_rule(struct redactor *r, const char *name, const char *pattern,
		     const char *replacement, bool (*accept)(const char *, size_t), bool builtin,
		     size_t index, char *err, size_t errlen)
{
	int code;
	PCRE2_SIZE offset;
	pcre2_code *re =
		pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
			      PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_NEVER_BACKSLASH_C, &code,
			      &offset, NULL);
	if (!re) {
		PCRE2_UCHAR msg[160];
		pcre2_get_error_message(code, msg, sizeof(msg));
		if (builtin) /* a bug, said loudly */
			set_err(err, errlen,
				"built-in redaction rule \"%s\": pattern error at offset %zu: %s",
				name, (size_t)offset, (const char *)msg);
		else
			set_err(err, errlen,
				"redaction rule \"%s\" (extra[%zu]): pattern error at offset %zu: "
				"%s",
				name, index, (size_t)offset, (const char *)msg);
		return false;
	}
	/* without JIT (unsupported platform) the interpreter runs the same pattern */
	(void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
	uint32_t captures = 0;
	pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &captures);
	if (captures + 1 > r->ovector_pairs)
		r->ovector_pairs = captures + 1;
	struct redact_rule *rule = &r->rules[r->nrules];
	rule->code = re;
	rule->accept = accept;
	rule->name = strdup(name);
	rule->replacement = replacement ? strdup(replacement) : NULL;
	r->nrules++;
	if (!rule->name || (replacement && !rule->replacement)) {
		set_err(err, errlen, "out of memory");
		return false;
	}
	return true;
}

struct redactor *redactor_new(const struct redact_rule_spec *extra, size_t nextra, char *err,
			      size_t errlen)
{
	size_t nbuiltin = sizeof(builtin_rules) / sizeof(builtin_rules[0]);
	if (errlen)
		err[0] = '\0';
	struct redactor *r = calloc(1, sizeof(*r));
	if (r)
		r->rules = calloc(nbuiltin + nextra, sizeof(*r->rules));
	if (!r || !r->rules) {
		set_err(err, errlen, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < nbuiltin; i++) {
		const struct builtin_rule *b = &builtin_rules[i];
		if (!add_rule(r, b->name, b->pattern, NULL, b->accept, true, i, err, errlen))
			goto fail;
	}
	for (size_t i = 0; i < nextra; i++) {
		const struct redact_rule_spec *s = &extra[i];
		if (!valid_rule_name(s->name)) {
			set_err(err, errlen,
				"redaction rule \"%s\" (extra[%zu]): name must be 1 to 64 of "
				"A-Z a-z 0-9 _ . -",
				s->name ? s->name : "", i);
			goto fail;
		}
		if (!s->pattern || !s->pattern[0]) {
			set_err(err, errlen,
				"redaction rule \"%s\" (extra[%zu]): pattern is missing", s->name,
				i);
			goto fail;
		}
		if (s->replacement && !utf8_valid(s->replacement, strlen(s->replacement))) {
			set_err(err, errlen,
				"redaction rule \"%s\" (extra[%zu]): replacement is not valid "
				"UTF-8",
				s->name, i);
			goto fail;
		}
		if (!add_rule(r, s->name, s->pattern, s->replacement, NULL, false, i, err, errlen))
			goto fail;
	}
	return r;
fail:
	redactor_free(r);
	return NULL;
}

void redactor_free(struct redactor *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nrules; i++) {
		pcre2_code_free(r->rules[i].code);
		free(r->rules[i].name);
		free(r->rules[i].replacement);
	}
	free(r->rules);
	free(r);
}

/* ---- finding and replacing ranges --------------------------------------------------------- */

struct range {
	size_t start, end;
	size_t seq;		 /* order of discovery: rule order breaks ties */
	const char *label;	 /* names the default placeholder */
	const char *replacement; /* or NULL */
};

/* Per-call state: match data, an optional bigger JIT stack, the ranges found. */
struct scratch {
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	pcre2_jit_stack *jit_stack;
	struct range *ranges;
	size_t nranges, cap, seq;
	bool failed; /* out of memory: the caller fails closed */
};

static bool scratch_init(struct scratch *sc, const struct redactor *r)
{
	memset(sc, 0, sizeof(*sc));
	sc->md = pcre2_match_data_create(r->ovector_pairs ? r->ovector_pairs : 1, NULL);
	return sc->md != NULL;
}

static void scratch_free(struct scratch *sc)
{
	pcre2_match_data_free(sc->md);
	pcre2_match_context_free(sc->mctx);
	pcre2_jit_stack_free(sc->jit_stack);
	free(sc->ranges);
}

/* The default JIT stack (32 KiB on the machine stack) is enough for the built-in rules on
 * ordinary text; a rule that runs out gets a 4 MiB one and the search is retried. */
static bool scratch_grow_jit_stack(struct scratch *sc)
{
	if (sc->jit_stack)
		return false;
	sc->mctx = pcre2_match_context_create(NULL);
	sc->jit_stack = pcre2_jit_stack_create(64 * 1024, 4 * 1024 * 1024, NULL);
	if (!sc->mctx || !sc->jit_stack)
		return false;
	pcre2_jit_stack_assign(sc->mctx, NULL, sc->jit_stack);
	return true;
}

static void add_range(struct scratch *sc, size_t start, size_t end, const char *label,
		      const char *replacement)
{
	if (start >= end)
		return;
	if (sc->nranges == sc->cap) {
		size_t cap = sc->cap ? sc->cap * 2 : 16;
		struct range *n = realloc(sc->ranges, cap * sizeof(*n));
		if (!n) {
			sc->failed = true;
			return;
		}
		sc->ranges = n;
		sc->cap = cap;
	}
	sc->ranges[sc->nranges++] = (struct range){start, end, sc->seq++, label, replacement};
}

/* The offset of the character after the one at i (skipping UTF-8 continuation bytes). */
static size_t next_char(const char *s, size_t len, size_t i)
{
	i++;
	while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80)
		i++;
	return i;
}

static void scan_rule(const struct redact_rule *rule, struct scratch *sc, const char *s, size_t len)
{
	size_t off = 0;
	while (off <= len && !sc->failed) {
		int rc = pcre2_match(rule->code, (PCRE2_SPTR)s, len, off, 0, sc->md, sc->mctx);
		if (rc == PCRE2_ERROR_NOMATCH)
			return;
		if (rc == PCRE2_ERROR_JIT_STACKLIMIT && scratch_grow_jit_stack(sc))
			continue;
		if (rc < 0) {
			/* cannot tell what the rest holds: fail closed */
			add_range(sc, off, len, rule->name, rule->replacement);
			return;
		}
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(sc->md);
		size_t start = ov[0] < ov[1] ? ov[0] : ov[1];
		size_t end = ov[0] < ov[1] ? ov[1] : ov[0];
		if (start == end) {
			off = next_char(s, len, end);
		} else if (rule->accept && !rule->accept(s + start, end - start)) {
			off = next_char(s, len, start);
		} else {
			PCRE2_SPTR mark = pcre2_get_mark(sc->md);
			add_range(sc, start, end, mark ? (const char *)mark : rule->name,
				  rule->replacement);
			off = end;
		}
	}
}

static void scan_rules(const struct redactor *r, struct scratch *sc, const char *s, size_t len)
{
	for (size_t i = 0; i < r->nrules && !sc->failed; i++)
		scan_rule(&r->rules[i], sc, s, len);
}

/* Runs every rule over s, leaving the ranges to redact in sc (cleared first). */
static void find_ranges(const struct redactor *r, struct scratch *sc, const char *s, size_t len)
{
	sc->nranges = 0;
	sc->seq = 0;
	scan_rules(r, sc, s, len);
}

static int range_cmp(const void *a, const void *b)
{
	const struct range *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Appends s with the ranges in sc replaced (overlapping or touching ranges merge into one
 * placeholder, named by the one that starts first) to out. Returns the number of placeholders,
 * and sets sc->failed when out of memory. */
static unsigned apply_ranges(struct scratch *sc, const char *s, size_t len, struct strbuf *out)
{
	if (sc->nranges > 1)
		qsort(sc->ranges, sc->nranges, sizeof(*sc->ranges), range_cmp);
	unsigned n = 0;
	size_t pos = 0;
	bool ok = strbuf_reserve(out, len);
	for (size_t i = 0; ok && i < sc->nranges;) {
		const struct range *first = &sc->ranges[i];
		size_t end = first->end;
		for (i++; i < sc->nranges && sc->ranges[i].start <= end; i++)
			if (sc->ranges[i].end > end)
				end = sc->ranges[i].end;
		ok = strbuf_append(out, s + pos, first->start - pos);
		if (first->replacement)
			ok = ok && strbuf_append_str(out, first->replacement);
		else
			ok = ok && strbuf_printf(out, "[REDACTED:%s]", first->label);
		pos = end;
		n++;
	}
	ok = ok && strbuf_append(out, s + pos, len - pos);
	if (!ok)
		sc->failed = true;
	return n;
}

char *redact_text(const struct redactor *r, const char *s, size_t len, size_t *out_len,
		  unsigned *count)
{
	struct scratch sc;
	struct strbuf out = STRBUF_INIT;
	char *result = NULL;
	if (!scratch_init(&sc, r))
		goto cleanup;
	find_ranges(r, &sc, s ? s : "", s ? len : 0);
	unsigned n = apply_ranges(&sc, s ? s : "", s ? len : 0, &out);
	if (sc.failed)
		goto cleanup;
	if (out_len)
		*out_len = out.len;
	if (count)
		*count += n;
	result = out.data;
	out.data = NULL;
cleanup:
	strbuf_free(&out);
	scratch_free(&sc);
	return result;
}

/* ---- secret-looking names ----------------------------------------------------------------- */

static bool word_in(const char *w, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(w, *list))
			return true;
	return false;
}

static bool word_ends_with_one_of(const char *w, const char *const *list)
{
	size_t wl = strlen(w);
	for (; *list; list++) {
		size_t sl = strlen(*list);
		if (wl > sl && !strcmp(w + wl - sl, *list))
			return true;
	}
	return false;
}

static const char *const secret_words[] = {
	"token",	 "secret", "secrets", "password",  "passwords",	 "passwd",
	"passphrase",	 "apikey", "apikeys", "accesskey", "privatekey", "secretkey",
	"authorization", "cookie", "cookies", "session",   "credential", "credentials",
	"creds",	 "auth",   "jwt",     NULL};
/* "githubtoken", "dbpassword": lowercase runs the camelCase split cannot cut */
static const char *const secret_suffixes[] = {"token",	   "secret",	 "password",
					      "passwd",	   "passphrase", "apikey",
					      "accesskey", "privatekey", NULL};
/* first word of a two-word secret name ending in key(s): api_key, accessKey, private-key */
static const char *const key_qualifiers[] = {"api", "access", "private", NULL};
static const char *const not_the_secret[] = {
	"count",    "counts", "len",	 "length",     "limit", "limits",  "max",
	"min",	    "size",   "type",	 "types",      "kind",	"url",	   "uri",
	"endpoint", "expiry", "expires", "expiration", "ttl",	"timeout", "name",
	"names",    "path",   "file",	 "filename",   "dir",	"id",	   "ids",
	"format",   "policy", "enabled", "required",   NULL};

#define KEY_WORD_MAX 48

static bool is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}
static bool is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}
static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

bool redact_key_looks_secret(const char *name, size_t len)
{
	char prev[KEY_WORD_MAX + 1] = "", cur[KEY_WORD_MAX + 1];
	size_t cl = 0;
	bool found = false;
	for (size_t i = 0; i <= len; i++) {
		char c = i < len ? name[i] : '\0';
		bool alnum = is_lower(c) || is_upper(c) || is_digit(c);
		/* a word ends before a non-alphanumeric, at aB, and at the B of ABc */
		bool boundary = !alnum ||
				(cl > 0 && is_upper(c) &&
				 (is_lower(name[i - 1]) || is_digit(name[i - 1]) ||
				  (is_upper(name[i - 1]) && i + 1 < len && is_lower(name[i + 1]))));
		if (boundary && cl > 0) {
			cur[cl] = '\0';
			if (word_in(cur, secret_words) ||
			    word_ends_with_one_of(cur, secret_suffixes) ||
			    ((!strcmp(cur, "key") || !strcmp(cur, "keys")) &&
			     word_in(prev, key_qualifiers)))
				found = true;
			memcpy(prev, cur, cl + 1);
			cl = 0;
		}
		if (!alnum)
			continue;
		if (cl == KEY_WORD_MAX) { /* keep the tail of an overlong word, for the suffixes */
			memmove(cur, cur + 1, KEY_WORD_MAX - 1);
			cl--;
		}
		cur[cl++] = is_upper(c) ? (char)(c - 'A' + 'a') : c;
	}
	/* prev is now the last word */
	return found && !word_in(prev, not_the_secret);
}

/* ---- JSON ----------------------------------------------------------------------------------- */

/* Redacts a JSON string in place; *n counts the redactions. */
static void redact_string_value(const struct redactor *r, struct scratch *sc, json_t *str,
				unsigned *n)
{
	const char *v = json_string_value(str);
	size_t len = json_string_length(str);
	find_ranges(r, sc, v, len);
	if (sc->nranges == 0 && !sc->failed)
		return;
	struct strbuf out = STRBUF_INIT;
	*n += apply_ranges(sc, v, len, &out);
	/* out stays valid UTF-8: matches never split characters, placeholders are ASCII */
	if (sc->failed || json_string_setn(str, out.data, out.len) != 0) {
		if (json_string_set(str, PLACEHOLDER_ERROR) != 0)
			sc->failed = true;
		(*n)++;
	}
	strbuf_free(&out);
}

static void walk(const struct redactor *r, struct scratch *sc, json_t *v, unsigned depth,
		 unsigned *n);

/* What to do with a child of a container at depth: NULL to keep it (after walking it), or the
 * placeholder that replaces it. */
static json_t *child_replacement(const struct redactor *r, struct scratch *sc, json_t *child,
				 unsigned depth, unsigned *n)
{
	if (json_is_string(child)) {
		redact_string_value(r, sc, child, n);
	} else if (json_is_object(child) || json_is_array(child)) {
		if (depth + 1 > REDACT_JSON_MAX_DEPTH) {
			(*n)++;
			return json_string(PLACEHOLDER_DEPTH);
		}
		walk(r, sc, child, depth + 1, n);
	}
	return NULL;
}

/* Gives the members of obj whose names hold a secret redacted names, in the same order. A
 * redacted name that is already taken gets a ~2, ~3 ... suffix (one counter per object, so a
 * hostile object of many such names costs linear time). Out of memory empties obj. */
static void rename_members(const struct redactor *r, struct scratch *sc, json_t *obj, unsigned *n)
{
	size_t count = json_object_size(obj), i = 0;
	unsigned suffix = 2;
	struct strbuf name = STRBUF_INIT;
	json_t *fresh = json_object();
	if (!fresh)
		goto fail;
	const char *key;
	size_t klen;
	json_t *value;
	json_object_keylen_foreach(obj, key, klen, value)
	{
		strbuf_reset(&name);
		find_ranges(r, sc, key, klen);
		unsigned renamed = apply_ranges(sc, key, klen, &name);
		*n += renamed;
		size_t base = name.len;
		/* a new name must not take the name of any member, before or after it */
		while (renamed && !sc->failed &&
		       (json_object_getn(fresh, name.data, name.len) ||
			json_object_getn(obj, name.data, name.len))) {
			name.len = base;
			if (!strbuf_printf(&name, "~%u", suffix++))
				goto fail;
		}
		if (sc->failed ||
		    json_object_setn(fresh, name.data ? name.data : "", name.len, value) != 0)
			goto fail;
		i++;
	}
	if (i != count || json_object_clear(obj) != 0 || json_object_update(obj, fresh) != 0)
		goto fail;
	goto cleanup;
fail:
	sc->failed = true;
	json_object_clear(obj);
cleanup:
	strbuf_free(&name);
	json_decref(fresh);
}

/* True for {"name": "X-Api-Key", "value": ...} (HTTP headers, environment variables as lists
 * of pairs), whose "value" holds a secret as if it were a member named X-Api-Key. */
static bool named_secret(json_t *obj)
{
	json_t *name = json_object_get(obj, "name");
	if (!json_is_string(name))
		name = json_object_get(obj, "key");
	return json_is_string(name) && json_object_get(obj, "value") &&
	       redact_key_looks_secret(json_string_value(name), json_string_length(name));
}

static void walk(const struct redactor *r, struct scratch *sc, json_t *v, unsigned depth,
		 unsigned *n)
{
	if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++) {
			json_t *rep = child_replacement(r, sc, json_array_get(v, i), depth, n);
			if (rep && json_array_set_new(v, i, rep) != 0)
				sc->failed = true;
		}
	} else if (json_is_object(v)) {
		bool rename = false, value_is_secret = named_secret(v);
		for (void *it = json_object_iter(v); it; it = json_object_iter_next(v, it)) {
			const char *key = json_object_iter_key(it);
			size_t klen = json_object_iter_key_len(it);
			json_t *rep;
			if (redact_key_looks_secret(key, klen) ||
			    (value_is_secret && klen == 5 && !memcmp(key, "value", 5))) {
				rep = json_string(PLACEHOLDER_KEY);
				(*n)++;
				if (!rep)
					sc->failed = true;
			} else {
				rep = child_replacement(r, sc, json_object_iter_value(it), depth,
							n);
			}
			if (rep && json_object_iter_set_new(v, it, rep) != 0)
				sc->failed = true;
			find_ranges(r, sc, key, klen);
			rename = rename || sc->nranges > 0;
		}
		if (rename)
			rename_members(r, sc, v, n);
	} else if (json_is_string(v)) {
		redact_string_value(r, sc, v, n);
	}
}

unsigned redact_json(const struct redactor *r, json_t *value)
{
	struct scratch sc;
	unsigned n = 0;
	if (!value || !scratch_init(&sc, r))
		return 0;
	walk(r, &sc, value, 0, &n);
	scratch_free(&sc);
	return n;
}

/* ---- tool arguments ----------------------------------------------------------------------- */

/* Appends s to out with every byte that is not part of valid UTF-8 replaced by U+FFFD. */
static bool append_utf8_sanitized(struct strbuf *out, const char *s, size_t len)
{
	size_t i = 0, clean = 0;
	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		size_t n = c < 0x80		    ? 1
			   : c >= 0xC2 && c <= 0xDF ? 2
			   : c >= 0xE0 && c <= 0xEF ? 3
			   : c >= 0xF0 && c <= 0xF4 ? 4
						    : 0;
		bool ok = n > 0 && i + n <= len && utf8_valid(s + i, n);
		if (ok) {
			i += n;
			continue;
		}
		if (!strbuf_append(out, s + clean, i - clean) ||
		    !strbuf_append(out, "\xEF\xBF\xBD", 3))
			return false;
		clean = ++i;
	}
	return strbuf_append(out, s + clean, len - clean);
}

/* Bytes a character costs in jansson's output of a string (without JSON_ENSURE_ASCII). */
static size_t json_escaped_cost(unsigned char c)
{
	if (c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t')
		return 2;
	return c < 0x20 ? 6 : 1;
}

/* The longest prefix of the valid UTF-8 s whose JSON string form fits in cap bytes (at least
 * the empty string), cut at a character boundary. */
static json_t *string_preview(const char *s, size_t len, size_t cap, bool *truncated)
{
	size_t budget = cap > 2 ? cap - 2 : 0, used = 0, i = 0;
	while (i < len) {
		size_t cost = json_escaped_cost((unsigned char)s[i]);
		if (used + cost > budget)
			break;
		used += cost;
		i++;
	}
	while (i > 0 && i < len && ((unsigned char)s[i] & 0xC0) == 0x80) /* to a character start */
		i--;
	*truncated = i < len;
	return json_stringn(s, i);
}

/* The end of the string whose opening quote is at i (len if it is not closed). */
static size_t skip_string(const char *s, size_t len, size_t i)
{
	for (i++; i < len; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '"')
			return i + 1;
	}
	return len;
}

static bool is_json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The end of the value that starts at i: after its closing quote or bracket, or before the
 * separator or bracket that ends a bare value; len when the text ends first. */
static size_t skip_value(const char *s, size_t len, size_t i)
{
	size_t depth = 0;
	while (i < len) {
		char c = s[i];
		if (c == '"') {
			i = skip_string(s, len, i);
			if (depth == 0)
				return i;
			continue;
		}
		if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (depth == 0) /* the end of the container around a bare value */
				return i;
			if (--depth == 0)
				return i + 1;
		} else if (depth == 0 && (c == ',' || is_json_space(c))) {
			return i;
		}
		i++;
	}
	return len;
}

static size_t skip_space(const char *s, size_t len, size_t i)
{
	while (i < len && is_json_space(s[i]))
		i++;
	return i;
}

/* For arguments that are not valid JSON (truncated, hand-written): follows the string
 * structure and adds the value of every "name": value member whose name looks secret, up to
 * its end or to the end of the text. Strings keep their quotes; containers go whole. */
static void add_secret_member_ranges(struct scratch *sc, const char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		if (s[i] != '"') {
			i++;
			continue;
		}
		size_t name = i + 1, after = skip_string(s, len, i);
		size_t colon = skip_space(s, len, after);
		if (after >= len || colon >= len || s[colon] != ':' ||
		    !redact_key_looks_secret(s + name, after - 1 - name)) {
			i = after;
			continue;
		}
		size_t v = skip_space(s, len, colon + 1), end = skip_value(s, len, v);
		if (v < len && s[v] == '"') /* keep the quotes */
			add_range(sc, v + 1, end > v + 1 && s[end - 1] == '"' ? end - 1 : end,
				  "key", NULL);
		else if (end > v)
			add_range(sc, v, end, "key", NULL);
		i = end > i ? end : i + 1;
	}
}

json_t *redact_arguments(const struct redactor *r, const char *raw, size_t len, size_t cap_bytes)
{
	struct scratch sc;
	struct strbuf text = STRBUF_INIT, redacted_text = STRBUF_INIT;
	json_t *out = NULL, *doc = NULL, *redacted = NULL;
	char *dump = NULL;
	unsigned n = 0;
	bool truncated = false;
	char digest[65];

	if (!raw)
		len = 0;
	if (!scratch_init(&sc, r))
		return NULL;
	sha256_hex(raw ? raw : "", len, digest);
	json_error_t jerr;
	doc = len ? json_loadb(raw, len, JSON_DECODE_ANY, &jerr) : NULL;
	if (doc) {
		walk(r, &sc, doc, 0, &n);
		dump = sc.failed ? NULL : json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY);
		if (!dump)
			goto cleanup;
		size_t dlen = strlen(dump);
		if (dlen <= cap_bytes) {
			redacted = doc;
			doc = NULL;
		} else {
			redacted = string_preview(dump, dlen, cap_bytes, &truncated);
		}
	} else {
		if (!append_utf8_sanitized(&text, raw ? raw : "", len))
			goto cleanup;
		const char *t = text.data ? text.data : "";
		/* member ranges first: they name the placeholder of a value both find */
		add_secret_member_ranges(&sc, t, text.len);
		scan_rules(r, &sc, t, text.len);
		n += apply_ranges(&sc, t, text.len, &redacted_text);
		if (sc.failed)
			goto cleanup;
		redacted = string_preview(redacted_text.data, redacted_text.len, cap_bytes,
					  &truncated);
	}
	if (!redacted)
		goto cleanup;
	out = json_object();
	if (!out || json_object_set_new(out, "sha256", json_string(digest)) ||
	    json_object_set_new(out, "bytes", json_integer((json_int_t)len)) ||
	    json_object_set(out, "redacted", redacted) ||
	    json_object_set_new(out, "redactions", json_integer(n)) ||
	    json_object_set_new(out, "truncated", json_boolean(truncated))) {
		json_decref(out);
		out = NULL;
	}
cleanup:
	json_decref(redacted);
	json_decref(doc);
	free(dump);
	strbuf_free(&text);
	strbuf_free(&redacted_text);
	scratch_free(&sc);
	return out;
}
