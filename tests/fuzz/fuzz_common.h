/* tests/fuzz/fuzz_common.h — helpers shared by the libFuzzer targets: write the input to a private
** temporary file (the readers under test take paths, as a script's data.* calls do).
** Invariant: one file per process, rewritten for every input, removed at exit. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Write data to this process's temp file (under $TMPDIR, /dev/shm when it exists) and return its
** path, or NULL when the file cannot be written. suffix is appended to the name (".csv"). */
const char *fuzz_write_temp(const void *data, size_t size, const char *suffix);
/* The same, gzip-compressed (zlib gzwrite) so the reader takes its gunzip path. */
const char *fuzz_write_temp_gz(const void *data, size_t size, const char *suffix);

#endif
