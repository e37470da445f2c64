/*
 * log: one line per event on stderr, with a UTC timestamp, the program
 * name, the pid and the level. The level is process-wide and set by main
 * from the config. Every function here preserves errno.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char *log_progname = "bulletin";
static enum log_level log_level = LOG_LEVEL_INFO;
/* The hook is called with this held, so that once log_set_hook returns
 * no thread is still inside the old one. */
static pthread_mutex_t log_hook_lock = PTHREAD_MUTEX_INITIALIZER;
static log_hook_fn *log_hook;
static void *log_hook_arg;

static const char *const level_names[] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARNING] = "warning",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

void log_init(const char *progname, enum log_level level)
{
	if (progname)
		log_progname = progname;
	log_level = level;
}

void log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level log_get_level(void)
{
	return log_level;
}

void log_set_hook(log_hook_fn *fn, void *arg)
{
	pthread_mutex_lock(&log_hook_lock);
	log_hook = fn;
	log_hook_arg = arg;
	pthread_mutex_unlock(&log_hook_lock);
}

int log_level_parse(const char *name, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]);
	     i++) {
		if (strcasecmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	if (strcasecmp(name, "warn") == 0) {
		*out = LOG_LEVEL_WARNING;
		return 0;
	}
	return -EINVAL;
}

static void vlog(enum log_level level, int errnum, const char *fmt, va_list ap)
{
	int saved = errno;
	char line[2048];
	char stamp[32];
	struct timeval tv;
	struct tm tm;
	size_t n;

	if (level > log_level) {
		errno = saved;
		return;
	}
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	vsnprintf(line, sizeof(line), fmt, ap);
	/* Keep each event on one line whatever the message holds. */
	for (n = 0; line[n]; n++) {
		if (line[n] == '\n' || line[n] == '\r')
			line[n] = ' ';
	}
	if (errnum)
		snprintf(line + strlen(line), sizeof(line) - strlen(line),
			 ": %s", strerror(errnum));
	fprintf(stderr, "%s.%03dZ %s[%d] %s: %s\n", stamp,
		(int)(tv.tv_usec / 1000), log_progname, (int)getpid(),
		level_names[level], line);
	if (level <= LOG_LEVEL_WARNING) {
		pthread_mutex_lock(&log_hook_lock);
		if (log_hook)
			log_hook(level, line, log_hook_arg);
		pthread_mutex_unlock(&log_hook_lock);
	}
	errno = saved;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, 0, fmt, ap);
	va_end(ap);
}

void log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_ERROR, errno, fmt, ap);
	va_end(ap);
}

void log_errorx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_ERROR, 0, fmt, ap);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_WARNING, errno, fmt, ap);
	va_end(ap);
}

void log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_WARNING, 0, fmt, ap);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_INFO, 0, fmt, ap);
	va_end(ap);
}

void err_set(struct err *err, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	errno = saved;
}

bool log_check_failed(const char *expr, const char *file, int line)
{
	log_errorx("internal check failed at %s:%d: %s", file, line, expr);
	return true;
}

void log_require_failed(const char *expr, const char *file, int line)
{
	log_errorx("internal error at %s:%d: %s", file, line, expr);
	abort();
}
