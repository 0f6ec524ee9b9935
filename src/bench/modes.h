/* modes.h - echo-bench's modes, which main() runs: stream and pingpong (stream.c), concurrent,
 * connrate and idle (many.c). */
#pragma once

#include "bench.h"

/* The modes. Each fills *r and returns a BENCH_* status; setup failures print one line. */
int bench_stream(const struct bench_config *c, const struct pattern *p, struct bench_result *r);
int bench_pingpong(const struct bench_config *c, const struct pattern *p, struct bench_result *r);
int bench_many(const struct bench_config *c, const struct pattern *p, struct bench_result *r);
