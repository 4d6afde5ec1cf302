/*
 * Typed configuration options (GnetModule_Config) and the module's
 * arguments ("name=value") parsed against them (GnetModule_ApplyConfig).
 * Every failure names the option and says what was wrong, for a person
 * reading gnetd's error at startup.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "host/host.h"

struct host_config {
	GnetModuleConfig def;
	char *name, *help, *dflt;    /* copies: the module's may be stack */
	char *text;                  /* a STRING's value, owned here */
};

static const char *
type_name(int type)
{
	switch (type) {
	case GNETMODULE_CONFIG_INT: return "integer";
	case GNETMODULE_CONFIG_BYTES: return "bytes";
	case GNETMODULE_CONFIG_BOOL: return "yes|no";
	case GNETMODULE_CONFIG_STRING: return "string";
	default: return NULL;
	}
}

static bool
valid_name(const char *s)
{
	if (s == NULL || *s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) ||
		    *s == '-' || *s == '_'))
			return false;
	return true;
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

int
config_declare(gnet_module_t *m, const GnetModuleConfig *def)
{
	host_config_t *more, *c;
	int i;

	if (m->state != MODULE_LOADING)
		return GNETMODULE_ESTATE;
	if (def == NULL || def->size < sizeof(GnetModuleConfig)) {
		module_fail(m, "GnetModule_Config: bad struct size");
		return GNETMODULE_EINVAL;
	}
	if (!valid_name(def->name) || type_name(def->type) == NULL ||
	    def->target == NULL) {
		module_fail(m, "GnetModule_Config: option \"%s\" needs a name of "
		    "[a-z0-9-_], a known type and a target",
		    def->name != NULL ? def->name : "");
		return GNETMODULE_EINVAL;
	}
	for (i = 0; i < m->nconfigs; i++) {
		if (strcmp(m->configs[i].name, def->name) == 0) {
			module_fail(m, "option %s declared twice", def->name);
			return GNETMODULE_EINVAL;
		}
	}
	more = realloc(m->configs, sizeof(*more) * (size_t)(m->nconfigs + 1));
	if (more == NULL)
		return GNET_ENOMEM;
	m->configs = more;
	c = &m->configs[m->nconfigs];
	memset(c, 0, sizeof(*c));
	c->def = *def;
	c->name = strdup(def->name);
	c->help = dup_or_null(def->help);
	c->dflt = dup_or_null(def->default_value);
	if (c->name == NULL || (def->help != NULL && c->help == NULL) ||
	    (def->default_value != NULL && c->dflt == NULL)) {
		free(c->name);
		free(c->help);
		free(c->dflt);
		return GNET_ENOMEM;
	}
	m->nconfigs++;
	return GNETMODULE_OK;
}

/* "64k", "8m", "1g" (powers of 1024), or a plain number. */
static int
parse_number(const char *s, bool bytes, long long *out)
{
	long long v, mult = 1;
	char *end;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || errno != 0)
		return -1;
	if (bytes && *end != '\0' && end[1] == '\0') {
		switch (tolower((unsigned char)*end)) {
		case 'k': mult = 1LL << 10; break;
		case 'm': mult = 1LL << 20; break;
		case 'g': mult = 1LL << 30; break;
		default: return -1;
		}
		end++;
	}
	if (*end != '\0' || (v != 0 && (v > LLONG_MAX / mult ||
	    v < LLONG_MIN / mult)))
		return -1;
	*out = v * mult;
	return 0;
}

static int
parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "yes", "on", "true", "1" };
	static const char *const no[] = { "no", "off", "false", "0" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

/* Parse value into option c's target; fail the load naming it. */
static int
set_value(gnet_module_t *m, host_config_t *c, const char *value)
{
	const GnetModuleConfig *d = &c->def;
	char why[256] = "";
	long long n = 0;
	int b = 0;
	const void *checked = &n;

	switch (d->type) {
	case GNETMODULE_CONFIG_INT:
	case GNETMODULE_CONFIG_BYTES:
		if (parse_number(value, d->type == GNETMODULE_CONFIG_BYTES,
		    &n) != 0) {
			module_fail(m, "option %s: \"%s\" is not %s", c->name,
			    value, d->type == GNETMODULE_CONFIG_BYTES ?
			    "a size (a number, or with k, m or g)" : "a number");
			return GNETMODULE_ERR;
		}
		if ((d->min != 0 || d->max != 0) && (n < d->min || n > d->max)) {
			module_fail(m, "option %s: %s is not from %lld to %lld",
			    c->name, value, d->min, d->max);
			return GNETMODULE_ERR;
		}
		break;
	case GNETMODULE_CONFIG_BOOL:
		if (parse_bool(value, &b) != 0) {
			module_fail(m, "option %s: \"%s\" is not yes or no",
			    c->name, value);
			return GNETMODULE_ERR;
		}
		checked = &b;
		break;
	default:
		checked = value;
		break;
	}
	if (d->validate != NULL && d->validate(checked, why, sizeof(why)) != 0) {
		module_fail(m, "option %s: \"%s\": %s", c->name, value,
		    why[0] != '\0' ? why : "refused by the module");
		return GNETMODULE_ERR;
	}
	switch (d->type) {
	case GNETMODULE_CONFIG_INT:
	case GNETMODULE_CONFIG_BYTES:
		*(long long *)d->target = n;
		break;
	case GNETMODULE_CONFIG_BOOL:
		*(int *)d->target = b;
		break;
	default:
		free(c->text);
		c->text = strdup(value);
		if (c->text == NULL)
			return GNET_ENOMEM;
		*(const char **)d->target = c->text;
		break;
	}
	return GNETMODULE_OK;
}

static void
describe(gnet_module_t *m)
{
	int i;

	fprintf(m->describe, "module %s, options (name=value):\n", m->name);
	for (i = 0; i < m->nconfigs; i++) {
		host_config_t *c = &m->configs[i];
		fprintf(m->describe, "  %s=<%s>", c->name, type_name(c->def.type));
		if (c->dflt != NULL)
			fprintf(m->describe, " (default %s)", c->dflt);
		else
			fprintf(m->describe, " (required)");
		if (c->def.min != 0 || c->def.max != 0)
			fprintf(m->describe, " [%lld..%lld]", c->def.min,
			    c->def.max);
		if (c->help != NULL)
			fprintf(m->describe, "\n      %s", c->help);
		fputc('\n', m->describe);
	}
	m->described = true;
}

static host_config_t *
find(gnet_module_t *m, const char *name, size_t len)
{
	int i;

	for (i = 0; i < m->nconfigs; i++)
		if (strlen(m->configs[i].name) == len &&
		    strncmp(m->configs[i].name, name, len) == 0)
			return &m->configs[i];
	return NULL;
}

int
config_apply(gnet_module_t *m)
{
	const char **given;
	int i, rc = GNETMODULE_OK;

	if (m->state != MODULE_LOADING)
		return GNETMODULE_ESTATE;
	if (m->describe != NULL) {
		describe(m);
		return GNETMODULE_ERR;
	}
	given = calloc((size_t)m->nconfigs + 1, sizeof(*given));
	if (given == NULL)
		return GNET_ENOMEM;
	/* The last value given for an option wins: a command line can
	 * override a config file's. */
	for (i = 0; i < m->argc && rc == GNETMODULE_OK; i++) {
		const char *eq = strchr(m->argv[i], '=');
		host_config_t *c = eq != NULL ?
		    find(m, m->argv[i], (size_t)(eq - m->argv[i])) : NULL;
		if (eq == NULL) {
			module_fail(m, "argument \"%s\" is not name=value",
			    m->argv[i]);
			rc = GNETMODULE_ERR;
		} else if (c == NULL) {
			module_fail(m, "unknown option \"%.*s\" (see gnetd "
			    "--help-module)", (int)(eq - m->argv[i]), m->argv[i]);
			rc = GNETMODULE_ERR;
		} else {
			given[c - m->configs] = eq + 1;
		}
	}
	for (i = 0; i < m->nconfigs && rc == GNETMODULE_OK; i++) {
		host_config_t *c = &m->configs[i];
		const char *v = given[i] != NULL ? given[i] : c->dflt;
		if (v == NULL) {
			module_fail(m, "option %s is required", c->name);
			rc = GNETMODULE_ERR;
		} else {
			rc = set_value(m, c, v);
		}
	}
	free(given);
	return rc;
}

void
config_free(gnet_module_t *m)
{
	int i;

	for (i = 0; i < m->nconfigs; i++) {
		free(m->configs[i].name);
		free(m->configs[i].help);
		free(m->configs[i].dflt);
		free(m->configs[i].text);
	}
	free(m->configs);
	m->configs = NULL;
	m->nconfigs = 0;
}
