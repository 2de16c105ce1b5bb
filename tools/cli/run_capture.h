/* tools/cli/run_capture.h -- the capture of a `tlsdrill run`: a td_scn_tap
 * that writes every connection the runner makes (our side's bytes, both
 * directions) as its own TCP stream of one pcap (flow N: client port
 * 49152 + N, first packet at 2024-01-01 + N seconds, so the bytes depend on
 * the cases alone) and collects the NSS key log lines of our side.
 * Caller storage; init/cleanup. */
#ifndef TD_CLI_RUN_CAPTURE_H
#define TD_CLI_RUN_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlsdrill/scenario.h"
#include "tlsdrill/transcript.h"

typedef struct td_cli_capture_random {
    uint8_t random[32];
    unsigned conn;         /* the connection (1-based) that logged it first */
    const char *case_name; /* borrowed: that connection's case */
    bool warned;
} td_cli_capture_random;

typedef struct td_cli_capture {
    td_scn_tap tap;    /* give &tap to td_scn_opts.tap */
    td_pcap *pcap;     /* owned; NULL without --pcap */
    td_keylog *keylog; /* owned; NULL without --keylog */
    td_pcap_flow flow;
    bool has_flow;
    bool pending;       /* a connection began; its stream opens at its first byte */
    unsigned num_flows; /* streams opened so far (the next one's index) */
    unsigned num_conns; /* connections begun so far */
    td_role ours;
    const char *case_name; /* borrowed: the case being captured */
    td_err err;            /* sticky */
    td_cli_capture_random *randoms;
    size_t num_randoms, cap_randoms;
    unsigned conn;       /* the current connection of its case (0, 1 after `resume`) */
    td_pcap_note *notes; /* the first packet of each stream: its case (pcapng comments) */
    size_t num_notes, cap_notes;
} td_cli_capture;

td_err td_cli_capture_init(td_cli_capture *cap, bool pcap, bool keylog) TD_WUR;
void td_cli_capture_cleanup(td_cli_capture *cap);
/* The td_scn_tap callbacks (arg: the td_cli_capture). */
td_err td_cli_capture_begin(void *arg, const td_scn_case *c, unsigned conn);
void td_cli_capture_wire(void *arg, bool sent, const uint8_t *bytes, size_t len);
void td_cli_capture_keylog(void *arg, const char *line);
/* Closes the current stream (FIN exchange); returns the sticky error. */
td_err td_cli_capture_end(td_cli_capture *cap);
/* Ends the last stream and writes the files given (NULL: skip). A capture
 * path ending in ".pcapng" gets a pcapng file: each stream's first packet
 * commented with its case, the key log embedded (init with keylog true).
 * 0 or 2. */
int td_cli_capture_write(td_cli_capture *cap, const char *pcap_path, const char *keylog_path);

#endif
