/*
 * ocsf.h - a drift event as OCSF 1.3.0 (see ocsf.c).
 */
#ifndef UW_OCSF_H
#define UW_OCSF_H

#include <stdio.h>

#include "upperwatch.h"

/* See uw_event_write_ocsf in upperwatch.h. */
int ocsf_write_event(FILE *out, const struct uw_event *ev);

/* The Detection Finding of an event with a verdict, as one JSON text
 * (malloc'd; NULL without a verdict or memory). */
char *ocsf_finding_text(const struct uw_event *ev);

#endif /* UW_OCSF_H */
