/* log-queue.h - echod's log writer thread: from log_start() on no caller of the logger
 * (shared/log.h) ever waits for a reader. */
#pragma once

/* Lines go to a bounded queue (256 KiB) that one writer thread empties; when it is full a line
 * is dropped and counted, and once the writer has caught up it logs one warning saying how
 * many were lost. Call after log_setup() and log_release(), before worker threads start.
 * Returns 0 or -errno (lines are then written directly, as before). */
int log_start(void);

/* Waits up to timeout_ms for the queue to be written out, then stops the writer; a reader that
 * is still stuck is abandoned (later lines are dropped). A no-op without log_start(). */
void log_finish(unsigned timeout_ms);
