/*
 * matrix: several NDJSON reports (--format json, one per implementation,
 * build or target) merged into one case x report table, written as text,
 * Markdown or a self-contained HTML page (htmlpage.h).
 *
 * Rows are the union of the reports' cases, in catalogue order (IDs the
 * catalogue does not know follow, as first seen). A case missing from a
 * report is NOT RUN in that column, never a pass. Every non-pass cell is
 * listed under its report with the message, expected and seen.
 *
 * `health-conformance matrix [--format F] [--output FILE] [NAME=]REPORT...`
 * is matrix_main; the multi-target run (fleet.c) uses the functions.
 *
 * Memory: a matrix owns copies of everything it read. Thread safety: none.
 */
#ifndef HC_MATRIX_H
#define HC_MATRIX_H

#include <stddef.h>
#include <stdio.h>

typedef enum matrix_format { MATRIX_TEXT = 0, MATRIX_MARKDOWN, MATRIX_HTML } matrix_format;

typedef struct matrix matrix;

int matrix_new(matrix **out); /* 0 (out of memory aborts, docs/oom.md) */
void matrix_free(matrix *m);  /* safe with NULL */

/* Adds the NDJSON report at path as a column named `name`. On a file that
 * cannot be read, a line that is not a report record, a duplicate case or
 * no case at all: -EINVAL (or the errno) with "PATH:LINE: why" in err, and
 * the matrix unchanged. A duplicate name is -EEXIST. */
int matrix_add_file(matrix *m, const char *name, const char *path, char *err, size_t errlen);

/* Adds a column with no cases (all NOT RUN) and a note saying why, e.g. a
 * target whose run left no report. 0 or a negative errno. */
int matrix_add_empty(matrix *m, const char *name, const char *note);

/* "text", "markdown" (also "md"), "html" -> *fmt; -EINVAL otherwise. */
int matrix_format_parse(const char *name, matrix_format *fmt);

/* Writes the matrix to f (not closed). 0, or -EIO / -ENOMEM. */
int matrix_write(const matrix *m, matrix_format fmt, FILE *f);

/* The `matrix` subcommand; argv[0] is "matrix". Exit 0 written, 1 a
 * write failed, 2 usage error or a bad report. */
int matrix_main(int argc, char **argv);

#endif
