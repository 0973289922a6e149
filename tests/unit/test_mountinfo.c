/*
 * test_mountinfo.c - every overlay shape a 6.x kernel prints in
 * mountinfo, Docker's relative paths, and malformed lines skipped.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "mountinfo.h"

static struct mountinfo_table table;

static const struct mountinfo_entry *
parse(const char *text)
{
	mountinfo_table_free(&table);
	if (mountinfo_parse(text, strlen(text), &table) < 0 || table.count == 0)
		return NULL;
	return &table.v[table.count - 1];
}

int
main(void)
{
	const struct mountinfo_entry *e;
	char dir[] = "/tmp/uw-test-mnt.XXXXXX", cmd[512], line[2048];

	/* Legacy lowerdir=, as mount(8) passes it. */
	e = parse("845 28 0:68 / /run/c1/rootfs rw,relatime shared:440 - "
	    "overlay overlay rw,lowerdir=/l/2:/l/1,upperdir=/c/upper,"
	    "workdir=/c/work,uuid=on\n");
	CHECK(e != NULL, "legacy line parsed");
	CHECK_STR(e->mount_point, "/run/c1/rootfs", "mount point");
	CHECK_STR(e->fstype, "overlay", "fstype");
	CHECK_INT(e->lower_count, 2, "two lowers");
	CHECK_STR(e->lower[0], "/l/2", "top layer first");
	CHECK_STR(e->lower[1], "/l/1", "bottom layer last");
	CHECK_STR(e->upper, "/c/upper", "upperdir");
	CHECK_STR(e->work, "/c/work", "workdir");
	CHECK_INT(e->ov_flags, 0, "no special options");

	/* Octal escapes: a space, a comma passed as "\,", a colon as "\:". */
	e = parse("1 2 0:1 / /mnt/a\\040b rw - overlay overlay "
	    "rw,lowerdir=/x/low\\134\\0542:/x/has\\134:colon:/x/sp\\040ace,"
	    "upperdir=/u\\054p,workdir=/w\n");
	CHECK(e != NULL, "escaped line parsed");
	CHECK_STR(e->mount_point, "/mnt/a b", "\\040 in the mount point");
	CHECK_INT(e->lower_count, 3, "escaped colon does not split");
	CHECK_STR(e->lower[0], "/x/low,2", "escaped comma kept");
	CHECK_STR(e->lower[1], "/x/has:colon", "escaped colon kept");
	CHECK_STR(e->lower[2], "/x/sp ace", "escaped space kept");
	CHECK_STR(e->upper, "/u,p", "comma in upperdir");

	/* The new mount API: lowerdir+= and datadir+=, no lowerdir=. */
	e = parse("3 2 0:2 / /merged rw - overlay none rw,lowerdir+=/a,"
	    "lowerdir+=/b:with:colons,datadir+=/d1,datadir+=/d2,upperdir=/u,"
	    "workdir=/w,redirect_dir=on,metacopy=on,uuid=on\n");
	CHECK(e != NULL, "new-API line parsed");
	CHECK_INT(e->lower_count, 2, "two lowerdir+=");
	CHECK_STR(e->lower[1], "/b:with:colons", "raw colons kept");
	CHECK_INT(e->data_count, 2, "two datadir+=");
	CHECK_STR(e->data[1], "/d2", "data layer");
	CHECK(e->ov_flags == (MOUNTINFO_OV_METACOPY | MOUNTINFO_OV_REDIRECT_DIR),
	    "metacopy and redirect_dir");

	/* Legacy data-only layers after "::". */
	e = parse("4 2 0:3 / /m rw - overlay overlay rw,lowerdir=/a:/b::/c,"
	    "upperdir=/u,workdir=/w,index=on,userxattr,fsync=volatile\n");
	CHECK(e != NULL && e->lower_count == 2 && e->data_count == 1,
	    "'::' starts data-only layers");
	CHECK(e->ov_flags == (MOUNTINFO_OV_INDEX | MOUNTINFO_OV_USERXATTR |
	    MOUNTINFO_OV_VOLATILE), "index, userxattr, volatile");

	/* A read-only overlay (no upper). */
	e = parse("5 2 0:4 / /ro rw - overlay overlay ro,lowerdir=/a:/b\n");
	CHECK(e != NULL && e->upper == NULL && e->lower_count == 2,
	    "an overlay without an upper");

	/* Optional fields before the separator. */
	e = parse("6 2 0:5 / /opt rw,nosuid shared:1 master:2 "
	    "propagate_from:3 - ext4 /dev/vda rw\n");
	CHECK(e != NULL && strcmp(e->fstype, "ext4") == 0 &&
	    e->lower_count == 0, "optional fields skipped");

	/* Malformed lines are counted, not fatal. */
	mountinfo_table_free(&table);
	CHECK(mountinfo_parse("garbage\n7 2 0:6 / /x rw no-separator ext4\n"
	    "8 2 0:7 / /y rw - overlay overlay rw,upperdir=/u\n"
	    "9 2 0:8 / /z rw - tmpfs tmpfs rw\n", 120, &table) == 0,
	    "a text with bad lines parses");
	CHECK_INT(table.malformed, 3, "three malformed lines counted");
	CHECK_INT(table.count, 1, "the good line kept");

	/* Docker's relative paths, resolved through l/ symlinks. */
	CHECK(mkdtemp(dir) != NULL, "scratch dir");
	snprintf(cmd, sizeof(cmd), "cd %s && mkdir -p l abc/diff def/diff "
	    "c1/diff c1/work && ln -s ../abc/diff l/AAA && "
	    "ln -s ../def/diff l/BBB", dir);
	CHECK(system(cmd) == 0, "a driver home made");
	snprintf(line, sizeof(line), "10 2 0:9 / %s/c1/merged rw - overlay "
	    "overlay rw,lowerdir=l/AAA:l/BBB,upperdir=c1/diff,"
	    "workdir=c1/work,index=off\n", dir);
	e = parse(line);
	CHECK(e != NULL && e->lower_count == 2, "relative line parsed");
	CHECK(e != NULL && mountinfo_resolve_relative(
	    (struct mountinfo_entry *)e, dir) == 0, "relative paths resolved");
	snprintf(line, sizeof(line), "%s/abc/diff", dir);
	CHECK_STR(e->lower[0], line, "l/AAA followed to its layer");
	snprintf(line, sizeof(line), "%s/c1/diff", dir);
	CHECK_STR(e->upper, line, "upper made absolute");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)!system(cmd);

	/* This machine's own table parses. */
	mountinfo_table_free(&table);
	CHECK(mountinfo_read(NULL, &table) == 0 && table.count > 0,
	    "/proc/self/mountinfo parses (%zu mounts)", table.count);
	CHECK_INT(table.malformed, 0, "with no malformed line");
	mountinfo_table_free(&table);
	return check_done();
}
