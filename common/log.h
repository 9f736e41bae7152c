/* Leveled logging: stderr or a file, never stdout. Every line carries "faasflow". */
#ifndef FAASFLOW_LOG_H
#define FAASFLOW_LOG_H

#include <stdarg.h>

enum ff_log_level { FF_LOG_ERR = 0, FF_LOG_WARN, FF_LOG_INFO, FF_LOG_DEBUG };

/* ident: "faasflowd", "faasflowctl", "faasflow-shim"; path NULL means stderr.
 * Returns 0, or -1 with errno when the file cannot be opened (stderr is used then). */
int  ff_log_open(const char *ident, const char *path, int level);
void ff_log_set_level(int level);
/* Emit nothing from now on (a process whose sandbox may kill it for any call, or whose
 * RLIMIT_FSIZE turns a write to the log file into SIGXFSZ). */
void ff_log_mute(void);
int  ff_log_get_level(void);
void ff_log_use_syslog(int on);
void ff_log_close(void);
/* Parse "err|error|warn|warning|info|debug" (case-insensitive); -1 when unknown. */
int  ff_log_level_parse(const char *s);
const char *ff_log_level_name(int level);

void ff_log_msg(int level, const char *func, int with_errno, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define log_err(...)   ff_log_msg(FF_LOG_ERR, __func__, 1, __VA_ARGS__)
#define log_errx(...)  ff_log_msg(FF_LOG_ERR, __func__, 0, __VA_ARGS__)
#define log_warn(...)  ff_log_msg(FF_LOG_WARN, __func__, 1, __VA_ARGS__)
#define log_warnx(...) ff_log_msg(FF_LOG_WARN, __func__, 0, __VA_ARGS__)
#define log_info(...)  ff_log_msg(FF_LOG_INFO, __func__, 0, __VA_ARGS__)
#define log_debug(...) do { if (ff_log_get_level() >= FF_LOG_DEBUG) \
        ff_log_msg(FF_LOG_DEBUG, __func__, 0, __VA_ARGS__); } while (0)

#endif
