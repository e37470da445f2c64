/*
 * log: levels and the stderr sink, plus struct err, the caller-supplied
 * buffer through which fallible functions tell the admin what is wrong.
 * Every log line is one event: time, program, pid, level, message.
 * Loggers preserve errno. Nothing here allocates.
 */
#ifndef BULLETIN_LOG_H
#define BULLETIN_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

/* What a failing function tells its caller: one line naming the thing at
 * fault and what to do. The top-level caller logs or prints it once. */
#define ERR_MSG_MAX 512

struct err {
	char msg[ERR_MSG_MAX];
};

/* Sets the program name shown in every line and the lowest level shown. */
void log_init(const char *progname, enum log_level level);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* Called with every warning and error that is logged (the whole line
 * after the level, strerror included), from whichever thread logged it,
 * one call at a time: it must not log. NULL removes it; once that
 * returns, no call of the old hook is running. */
typedef void log_hook_fn(enum log_level level, const char *line, void *arg);
void log_set_hook(log_hook_fn *fn, void *arg);

/* Parses "error", "warning", "info" or "debug"; returns 0 or -EINVAL. */
int log_level_parse(const char *name, enum log_level *out);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* log_warn and log_error append ": strerror(errno)"; the x forms do not. */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_errorx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Debug lines are formatted only when the level asks for them. */
#define log_debug(...)                                                         \
	do {                                                                   \
		if (log_get_level() >= LOG_LEVEL_DEBUG)                        \
			log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__);                 \
	} while (0)

/* Formats into err->msg (truncating safely); err may be NULL.
 * Returns nothing so that it can sit before "return -EINVAL". */
void err_set(struct err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Logs file:line and returns true when the condition fails, so that the
 * caller recovers: if (CHECK_FAILS(p != NULL)) return -EINVAL; */
bool log_check_failed(const char *expr, const char *file, int line);
#define CHECK_FAILS(x) (!(x) && log_check_failed(#x, __FILE__, __LINE__))

/* For programmer errors only: logs and aborts. Never for bad input. */
void log_require_failed(const char *expr, const char *file, int line)
	__attribute__((noreturn));
#define REQUIRE(x)                                                             \
	do {                                                                   \
		if (!(x))                                                      \
			log_require_failed(#x, __FILE__, __LINE__);            \
	} while (0)

#endif
