/* parallel.h — the parallel schedule (parallel.c): worker host threads, one per guest thread,
 * and the coordinator that wb_machine_run's thread becomes once a second guest thread starts.
 * The engine lock itself (wb_lock/wb_unlock) is declared in machine.h, beside the other things
 * every part of the engine calls.
 */
#ifndef WB_PARALLEL_H
#define WB_PARALLEL_H
#include "machine.h"

/* wb_machine_run under the parallel schedule: start workers for the live harts that have none
 * (or wake them after a pause), wait until the run stops and every worker is parked, and end
 * the workers when the stop is final. */
void wb_par_run(wb_machine *m);
/* End every worker (the run is over, or the machine is destroyed while paused). */
void wb_par_end(wb_machine *m);
/* Give hart h a host thread (a thread started while the run is parallel). -1: the run stopped. */
int wb_par_start(wb_hart *h);
/* Make hart h leave its tier at its next look at the machine (and wake its worker). */
void wb_par_kick(wb_hart *h);
/* After a jump out of a locked region (a host fault in a client's hook): release the lock. */
void wb_par_unlock_all(wb_machine *m);

/* machine.c: the hart this host thread runs (wb_hart_current), and running it until it leaves
 * its tier or the run stops, completing the host faults its accesses raise. */
void wb_set_current_hart(wb_hart *h);
void wb_run_hart(wb_hart *h);

#endif
