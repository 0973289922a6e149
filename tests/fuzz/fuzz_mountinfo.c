/*
 * fuzz_mountinfo.c - libFuzzer target for the mountinfo parser: any bytes
 * must parse without a crash, a leak or an out-of-bounds access, and every
 * overlay entry kept must have at least one lower layer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mountinfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mountinfo_table table;
	size_t i;

	memset(&table, 0, sizeof(table));
	if (mountinfo_parse((const char *)data, size, &table) == 0) {
		for (i = 0; i < table.count; i++)
			if (strcmp(table.v[i].fstype, "overlay") == 0 &&
			    table.v[i].lower_count == 0)
				abort();
	}
	mountinfo_table_free(&table);
	return 0;
}
