/* engine/site_switch.c -- the test-only site switch (tlsdrill/err.h): which
 * check site TD_PLANT_SITE switches off, which allowed alert TD_PLANT_ALERT
 * drops. tools/mutate_sites.py sets one per run, to prove that the change is
 * noticed by a test. */
#include <stdlib.h>
#include <string.h>

#include "tlsdrill/err.h"

#ifdef TD_SITE_SWITCH
/* |path| (__FILE__: absolute or relative) is the source file |file|
 * ("engine/conn.c", |file_len| bytes): the same name, or ends in "/" + it. */
static bool same_file(const char *path, const char *file, size_t file_len)
{
    size_t n = strlen(path);
    if (n < file_len || memcmp(path + n - file_len, file, file_len) != 0)
        return false;
    return n == file_len || path[n - file_len - 1] == '/';
}

bool td_site_off(const char *file, int line, td_rule rule, const char *row)
{
    const char *spec = getenv("TD_PLANT_SITE");
    if (spec == NULL || rule == TD_RULE_NONE)
        return false;
    /* FILE:LO-HI@RULE or FILE#ROW@RULE */
    const char *at = strrchr(spec, '@');
    if (at == NULL || strcmp(at + 1, td_rule_get(rule)->id) != 0)
        return false;
    const char *sep = strpbrk(spec, ":#");
    if (sep == NULL || sep > at || !same_file(file, spec, (size_t)(sep - spec)))
        return false;
    if (*sep == '#') {
        size_t n = (size_t)(at - sep - 1);
        return row != NULL && strlen(row) == n && memcmp(row, sep + 1, n) == 0;
    }
    if (row != NULL)
        return false;
    char *end;
    long lo = strtol(sep + 1, &end, 10), hi = lo;
    if (*end == '-')
        hi = strtol(end + 1, &end, 10);
    return end == at && line >= lo && line <= hi;
}

uint32_t td_site_alerts_off(td_rule rule)
{
    static const char *const names[] = {
#define SITE_ALERT_NAME_(name, value) #name,
        TD_ALERT_LIST(SITE_ALERT_NAME_)
#undef SITE_ALERT_NAME_
    };
    const char *spec = getenv("TD_PLANT_ALERT"); /* RULE:ALERT */
    const char *colon = spec != NULL ? strchr(spec, ':') : NULL;
    if (colon == NULL || rule == TD_RULE_NONE)
        return 0;
    const char *id = td_rule_get(rule)->id;
    if (strlen(id) != (size_t)(colon - spec) || memcmp(id, spec, (size_t)(colon - spec)) != 0)
        return 0;
    for (unsigned i = 0; i < TD_NUM_ALERTS; i++)
        if (strcmp(names[i], colon + 1) == 0)
            return (uint32_t)1 << i;
    return 0;
}
#else
/* Release behaviour: nothing is ever switched off, whatever the environment. */
bool td_site_off(const char *file, int line, td_rule rule, const char *row)
{
    (void)file, (void)line, (void)rule, (void)row;
    return false;
}

uint32_t td_site_alerts_off(td_rule rule)
{
    (void)rule;
    return 0;
}
#endif
