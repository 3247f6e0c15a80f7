/* fleet: many targets, one child run each, one matrix. See fleet.h. */
#define _GNU_SOURCE /* asprintf, getline */
#include "fleet.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "catalogue.h"
#include "cmd.h"
#include "errbuf.h"
#include "matrix.h"
#include "runner.h"
#include "xalloc.h"

#define ERR_MAX 512

/* ---- the list ------------------------------------------------------------ */

void fleet_list_free(fleet_list *l) {
  free(l->v);
  *l = (fleet_list){0};
}

/* [scheme://]HOST:PORT into its parts; the scheme is kept as written. */
static int split(const char *target, char *scheme, char *host, char *port, char *err,
                 size_t errlen) {
  char rerr[RUNNER_ERR_MAX];
  size_t skip = strncmp(target, "http://", 7) == 0    ? 7
                : strncmp(target, "https://", 8) == 0 ? 8
                                                      : 0;

  snprintf(scheme, 16, "%.*s", (int)skip, target);
  if (runner_split_target(target + skip, host, 256, port, 16, rerr, sizeof(rerr)) < 0)
    return errbuf_fail(err, errlen, -EINVAL, "%s", rerr);
  return 0;
}

static int push(fleet_list *l, const char *scheme, const char *host, const char *port,
                const char *name, char *err, size_t errlen) {
  fleet_target t;
  int v6 = strchr(host, ':') != NULL;

  snprintf(t.target, sizeof(t.target), "%s%s%s%s:%s", scheme, v6 ? "[" : "", host, v6 ? "]" : "",
           port);
  snprintf(t.name, sizeof(t.name), "%s", name);
  snprintf(t.host, sizeof(t.host), "%s", host);
  for (size_t i = 0; i < l->n; i++)
    if (strcmp(l->v[i].target, t.target) == 0)
      return errbuf_fail(err, errlen, -EEXIST, "target %s given twice", t.target);
  if (l->n == FLEET_MAX_TARGETS)
    return errbuf_fail(err, errlen, -E2BIG, "more than %d targets", FLEET_MAX_TARGETS);
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 16;
    l->v = xrealloc(l->v, cap * sizeof(*l->v));
    l->cap = cap;
  }
  l->v[l->n++] = t;
  return 0;
}

int fleet_add(fleet_list *l, const char *target, char *err, size_t errlen) {
  char scheme[16], host[256], port[16];
  int rc = split(target, scheme, host, port, err, errlen);

  return rc < 0 ? rc : push(l, scheme, host, port, host, err, errlen);
}

int fleet_add_answer(fleet_list *l, const char *target, const struct addrinfo *answer, char *err,
                     size_t errlen) {
  char scheme[16], name[256], port[16], addr[256];
  size_t before = l->n;
  int rc = split(target, scheme, name, port, err, errlen);

  for (const struct addrinfo *ai = answer; rc == 0 && ai; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
      continue;
    if (getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, sizeof(addr), NULL, 0, NI_NUMERICHOST))
      continue;
    rc = push(l, scheme, addr, port, name, err, errlen);
    if (rc == -EEXIST) /* one address per socket type, or also given by hand */
      rc = 0;
  }
  if (rc == 0 && l->n == before && !answer)
    rc = errbuf_fail(err, errlen, -EINVAL, "%s resolved to no address", name);
  return rc;
}

/* One target as given, or with --all-addresses every address of its host.
 * A name that does not resolve stays as given: its run reports it
 * unreachable (exit 3), like any single-target run. */
static int add_one(fleet_list *l, const char *target, int all, char *err, size_t errlen) {
  struct addrinfo hints = {
      .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
  struct addrinfo *answer = NULL;
  char scheme[16], host[256], port[16];
  int rc, gai;

  if (!all)
    return fleet_add(l, target, err, errlen);
  rc = split(target, scheme, host, port, err, errlen);
  if (rc < 0)
    return rc;
  gai = getaddrinfo(host, port, &hints, &answer);
  if (gai != 0) {
    fprintf(stderr, CLI_PROG ": --all-addresses: cannot resolve %s (%s); running it as given\n",
            host, gai_strerror(gai));
    return fleet_add(l, target, err, errlen);
  }
  rc = fleet_add_answer(l, target, answer, err, errlen);
  freeaddrinfo(answer);
  return rc;
}

/* --targets FILE: one target a line; blank lines and '#' comments skipped. */
static int read_targets(fleet_list *l, const char *path, int all, char *err, size_t errlen) {
  FILE *in = fopen(path, "r");
  char *line = NULL, sub[ERR_MAX];
  size_t cap = 0, lineno = 0;
  int rc = 0;

  if (!in)
    return errbuf_fail(err, errlen, -errno, "--targets: cannot read %s: %s", path, strerror(errno));
  while (rc == 0 && getline(&line, &cap, in) >= 0) {
    char *t = line + strspn(line, " \t"), *end = t + strcspn(t, "#\r\n");
    lineno++;
    while (end > t && (end[-1] == ' ' || end[-1] == '\t'))
      end--;
    *end = '\0';
    if (*t && (rc = add_one(l, t, all, sub, sizeof(sub))) < 0)
      errbuf_fail(err, errlen, 0, "--targets %s:%zu: %s", path, lineno, sub);
  }
  if (rc == 0 && ferror(in))
    rc = errbuf_fail(err, errlen, -EIO, "--targets: reading %s failed", path);
  free(line);
  fclose(in);
  return rc;
}

/* ---- the command line ---------------------------------------------------- */

int fleet_check(cli *o) {
  const hc_case *cases;
  char err[ERR_MAX];
  size_t count;

  if (o->cmd != CMD_RUN)
    return cli_usage_error(
        "--targets, --all-addresses, --jobs, --report-dir and several "
        "--target belong to run");
  if (o->spawn)
    return cli_usage_error("--spawn starts one target; it excludes several targets");
  if (!o->fleet.ntargets && !o->fleet.targets_file)
    return cli_usage_error("--target HOST:PORT or --targets FILE is required");
  if (!o->fleet.report_dir)
    return cli_usage_error(
        "--report-dir DIR is required with several targets (each target's "
        "reports and the matrix go there)");
  if (o->control_cmd)
    return cli_usage_error(
        "--control-cmd with several targets is not supported; --control "
        "with {host} reaches each target's own control API");
  if (o->control_url && !strstr(o->control_url, "{host}"))
    return cli_usage_error(
        "--control '%s': with several targets the URL needs {host} (each "
        "target's own control API, e.g. http://{host}:8081)",
        o->control_url);
  for (size_t i = 0; i < o->noutputs; i++) {
    if (o->outputs[i].path)
      return cli_usage_error("--output: with several targets every report goes to --report-dir");
    for (size_t k = 0; k < i; k++)
      if (o->outputs[k].fmt == o->outputs[i].fmt)
        return cli_usage_error("--format %s given twice", report_format_name(o->outputs[i].fmt));
  }
  if (ctls_check(&o->tls, err, sizeof(err)) < 0)
    return cli_usage_error("%s", err);
  /* Once here, not once per target's run. */
  cases = catalogue_cases(&count);
  if (selection_check(o->sel, cases, count, err, sizeof(err)) < 0)
    return cli_usage_error("%s", err);
  return 0;
}

/* ---- one target's run, in a child ---------------------------------------- */

/* The file stem of a target's reports: "127.0.0.2:50051" -> "127.0.0.2_50051". */
static void stem(const char *target, char *out, size_t len) {
  size_t i = 0;

  for (; target[i] && i + 1 < len; i++) {
    char c = target[i];
    int keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '-';
    out[i] = keep ? c : '_';
  }
  out[i] = '\0';
}

static const char *extension(report_format fmt) {
  static const char *const ext[] = {[REPORT_TEXT] = "txt",
                                    [REPORT_TAP] = "tap",
                                    [REPORT_JUNIT] = "xml",
                                    [REPORT_JSON] = "ndjson",
                                    [REPORT_HTML] = "html"};
  return ext[fmt];
}

static char *report_path(const cli *o, const char *base, report_format fmt) {
  return xasprintf("%s/%s.%s", o->fleet.report_dir, base, extension(fmt));
}

/* The child: the text report into DIR/<stem>.txt (its stdout), NDJSON for
 * the matrix and each --format into DIR/<stem>.<ext>, then the one-target
 * run. Never returns. */
static void run_child(cli *o, const fleet_target *t, const char *base) {
  cli_output outs[CLI_MAX_OUTPUTS];
  size_t n = 0;
  char *text = report_path(o, base, REPORT_TEXT), url[1024];
  int fd = open(text, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int rc;

  if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0) {
    fprintf(stderr, CLI_PROG ": %s: cannot write %s: %s\n", t->target, text, strerror(errno));
    exit(RUNNER_EXIT_FAILED);
  }
  close(fd);
  outs[n++] = (cli_output){.fmt = REPORT_JSON, .path = report_path(o, base, REPORT_JSON)};
  for (size_t i = 0; i < o->noutputs; i++)
    if (o->outputs[i].fmt != REPORT_JSON && o->outputs[i].fmt != REPORT_TEXT)
      outs[n++] =
          (cli_output){.fmt = o->outputs[i].fmt, .path = report_path(o, base, o->outputs[i].fmt)};
  memcpy(o->outputs, outs, sizeof(outs));
  o->noutputs = n;
  rc = cli_set_target(o, t->target);
  if (rc)
    exit(rc);
  /* A certificate carries the name, not the address it resolved to. */
  if (o->tls.enabled && !o->tls.server_name && strcmp(t->name, t->host) != 0)
    o->tls.server_name = t->name;
  if (o->control_url) {
    const char *at = strstr(o->control_url, "{host}");
    int v6 = strchr(t->host, ':') != NULL;
    snprintf(url, sizeof(url), "%.*s%s%s%s%s", (int)(at - o->control_url), o->control_url,
             v6 ? "[" : "", t->host, v6 ? "]" : "", at + 6);
    o->control_url = url;
  }
  rc = cmd_run(o);
  cli_free(o);
  free(text);
  for (size_t i = 0; i < n; i++)
    free((char *)outs[i].path);
  exit(rc);
}

/* ---- the parent ------------------------------------------------------------ */

static const char *meaning(int code) {
  switch (code) {
  case RUNNER_EXIT_OK:
    return "passed";
  case RUNNER_EXIT_FAILED:
    return "failed";
  case RUNNER_EXIT_USAGE:
    return "usage error";
  case RUNNER_EXIT_UNREACHABLE:
    return "unreachable";
  default:
    return "failed";
  }
}

/* Starts up to `jobs` children at once; fills codes[i] as each ends. */
static void run_all(cli *o, const fleet_list *l, char (*stems)[256], int *codes) {
  pid_t *pids = xcalloc(l->n, sizeof(*pids));
  size_t next = 0, running = 0;
  int jobs = o->fleet.jobs ? o->fleet.jobs : FLEET_DEFAULT_JOBS;

  while (next < l->n || running > 0) {
    int st;
    pid_t done;
    while (running < (size_t)jobs && next < l->n) {
      fflush(NULL); /* nothing buffered is written twice */
      pids[next] = fork();
      if (pids[next] == 0)
        run_child(o, &l->v[next], stems[next]);
      if (pids[next] < 0) {
        fprintf(stderr, CLI_PROG ": %s: fork: %s\n", l->v[next].target, strerror(errno));
        codes[next] = RUNNER_EXIT_FAILED;
      } else {
        running++;
      }
      next++;
    }
    done = waitpid(-1, &st, 0); /* every child is bounded by its run's own timeouts */
    if (done < 0 && errno == EINTR)
      continue;
    if (done < 0)
      break;
    for (size_t i = 0; i < next; i++) {
      if (pids[i] != done)
        continue;
      running--;
      codes[i] = WIFEXITED(st) ? WEXITSTATUS(st) : RUNNER_EXIT_FAILED;
      if (WIFSIGNALED(st))
        fprintf(stderr, CLI_PROG ": the run of %s was killed by signal %d\n", l->v[i].target,
                WTERMSIG(st));
      printf("%s: exit %d (%s), reports %s/%s.*\n", l->v[i].target, codes[i], meaning(codes[i]),
             o->fleet.report_dir, stems[i]);
      fflush(stdout);
    }
  }
  free(pids);
}

/* DIR/matrix.{txt,md,html}, and the text on stdout. 0 or exit 1. */
static int write_matrix(const cli *o, const fleet_list *l, char (*stems)[256], const int *codes) {
  static const matrix_format fmts[] = {MATRIX_TEXT, MATRIX_MARKDOWN, MATRIX_HTML};
  static const char *const names[] = {"matrix.txt", "matrix.md", "matrix.html"};
  matrix *m = NULL;
  char err[ERR_MAX], note[ERR_MAX + 64], *path = NULL;
  int rc = matrix_new(&m);

  for (size_t i = 0; rc == 0 && i < l->n; i++) {
    path = report_path(o, stems[i], REPORT_JSON);
    if (matrix_add_file(m, l->v[i].target, path, err, sizeof(err)) < 0) {
      snprintf(note, sizeof(note), "no report (exit %d): %s", codes[i], err);
      rc = matrix_add_empty(m, l->v[i].target, note);
    }
    free(path);
  }
  for (size_t k = 0; rc == 0 && k < 3; k++) {
    FILE *f;
    path = xasprintf("%s/%s", o->fleet.report_dir, names[k]);
    f = fopen(path, "w");
    rc = f ? matrix_write(m, fmts[k], f) : -errno;
    if (f && fclose(f) != 0 && rc == 0)
      rc = -EIO;
    if (rc < 0)
      fprintf(stderr, CLI_PROG ": writing %s failed: %s\n", path, strerror(-rc));
    free(path);
  }
  if (rc == 0) {
    printf("\n");
    rc = matrix_write(m, MATRIX_TEXT, stdout);
  }
  matrix_free(m);
  return rc < 0 ? RUNNER_EXIT_FAILED : 0;
}

static int make_list(cli *o, fleet_list *l, char (**stems)[256]) {
  char err[ERR_MAX];
  int rc = 0;

  for (size_t i = 0; rc == 0 && i < o->fleet.ntargets; i++)
    if ((rc = add_one(l, o->fleet.targets[i], o->fleet.all_addresses, err, sizeof(err))) < 0)
      return cli_usage_error("--target: %s", err);
  if (o->fleet.targets_file &&
      read_targets(l, o->fleet.targets_file, o->fleet.all_addresses, err, sizeof(err)) < 0)
    return cli_usage_error("%s", err);
  if (l->n == 0)
    return cli_usage_error("--targets %s lists no target", o->fleet.targets_file);
  *stems = xcalloc(l->n, sizeof(**stems));
  for (size_t i = 0; i < l->n; i++) {
    stem(l->v[i].target, (*stems)[i], sizeof((*stems)[i]));
    for (size_t k = 0; k < i; k++)
      if (strcmp((*stems)[k], (*stems)[i]) == 0)
        return cli_usage_error("targets %s and %s would share the report name %s", l->v[k].target,
                               l->v[i].target, (*stems)[i]);
  }
  if (mkdir(o->fleet.report_dir, 0777) < 0 && errno != EEXIST)
    return cli_usage_error("--report-dir %s: %s", o->fleet.report_dir, strerror(errno));
  return 0;
}

int fleet_main(cli *o) {
  fleet_list l = {0};
  char(*stems)[256] = NULL;
  int *codes = NULL, worst = 0, rc = make_list(o, &l, &stems);

  if (rc)
    goto out;
  codes = xcalloc(l.n, sizeof(*codes));
  printf("%zu targets, %d at once; reports in %s\n", l.n,
         o->fleet.jobs ? o->fleet.jobs : FLEET_DEFAULT_JOBS, o->fleet.report_dir);
  run_all(o, &l, stems, codes);
  for (size_t i = 0; i < l.n; i++)
    worst = codes[i] > worst ? codes[i] : worst;
  rc = write_matrix(o, &l, stems, codes);
  rc = rc > worst ? rc : worst;
  printf("\nexit %d: the worst of %zu targets (%s)\n", rc, l.n, meaning(rc));
out:
  free(codes);
  free(stems);
  fleet_list_free(&l);
  return rc;
}
