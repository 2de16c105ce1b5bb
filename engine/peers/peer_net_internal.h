/* engine/peers/peer_net_internal.h -- the child process of an `exec:` peer
 * (peer_exec.c), used by the network peer (peer_net.c). */
#ifndef TD_PEER_NET_INTERNAL_H
#define TD_PEER_NET_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tlsdrill/conn.h"

/* Exit status by which a shim says "I cannot be configured for this case"
 * (BoGo's convention). */
#define TD_EXEC_UNSUPPORTED 89

typedef struct td_exec {
    char *cmd;       /* owned: the command line, {port} and {role} not yet substituted */
    char dir[256];   /* owned temporary directory (files of the case), removed on cleanup */
    pid_t pid;       /* running child (process group leader), 0 = none */
    int stdin_fd;    /* our end of the child's stdin (kept open: EOF ends some tools), -1 */
    int exit_status; /* after it exited: waitpid status; -1 unknown */
} td_exec;

/* Takes a copy of |cmd|; makes the temporary directory. TD_ERR_IO/NOMEM. */
td_err td_exec_init(td_exec *x, const char *cmd) TD_WUR;
/* Stops the child and removes the directory. */
void td_exec_cleanup(td_exec *x);

/* Starts the child for one connection: the SUT's configuration |sut| (and
 * our side's |ours|, for the HRR hint) in TD_* variables and PEM files of
 * the directory, |port| substituted. |resume| is "", "first" (a
 * resumption follows on the next connection) or "second". */
td_err td_exec_start(td_exec *x, const td_config *ours, const td_config *sut, uint16_t port,
                     const char *resume) TD_WUR;
/* Whether the child is still running (reaps it if not). */
bool td_exec_running(td_exec *x);
/* Stops the child: SIGTERM to its process group, SIGKILL after a grace. */
void td_exec_stop(td_exec *x);
/* The child exited with TD_EXEC_UNSUPPORTED: its first stderr line into |note|. */
bool td_exec_unsupported(td_exec *x, char *note, size_t note_len);
/* The session file a client SUT saves and resumes from (exists, non-empty?). */
bool td_exec_has_session(const td_exec *x);
/* Last lines of the child's stderr (diagnostics), into |buf|. */
void td_exec_stderr_tail(const td_exec *x, char *buf, size_t len);
/* The child's stderr so far, for the report: whole if it fits |len|, else
 * its beginning and end with "[...]" between. */
void td_exec_log(const td_exec *x, char *buf, size_t len);
/* The SUT's NSS key log the shim wrote to $TD_KEYLOG so far (returns owned,
 * NUL-terminated: free(); NULL if none or empty). */
char *td_exec_keylog(const td_exec *x, size_t *out_len);
/* The child exited with 126 or 127: the shell could not execute the command;
 * the reason (its stderr) into |note|. */
bool td_exec_cannot_execute(td_exec *x, char *note, size_t note_len);

#endif
