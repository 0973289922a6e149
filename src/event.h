/*
 * event.h - the drift event as one line of JSON (the contract of
 * DESIGN.md section 4, written for --output, alerts and the journal).
 */
#ifndef UW_EVENT_H
#define UW_EVENT_H

#include <stdio.h>

#include "upperwatch.h"

/* uw_event_write_json: one JSON object and a newline. */
int event_write_json(FILE *out, const struct uw_event *ev) UW_WARN_UNUSED;

#endif /* UW_EVENT_H */
