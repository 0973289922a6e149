/*
 * transfer.h - a baseline as one self-contained file (export, import).
 */
#ifndef UW_TRANSFER_H
#define UW_TRANSFER_H

#include <stdio.h>

#include "store.h"
#include "upperwatch.h"

/* See uw_baseline_export and uw_baseline_import in upperwatch.h. */
int transfer_export(struct store *store, const char *image, FILE *out,
    struct uw_error *err) UW_WARN_UNUSED;
int transfer_import(struct store *store, const char *path,
    const char *expect, struct uw_import_result *res, struct uw_error *err)
    UW_WARN_UNUSED;

#endif /* UW_TRANSFER_H */
