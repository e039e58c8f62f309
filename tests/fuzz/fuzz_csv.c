/* tests/fuzz/fuzz_csv.c — libFuzzer target: the CSV reader (data.csv in vm/lib_data.c), reached the
** way a script reaches it. The first byte picks the options: header on/off and the label column
** (by name, by index, negative index, out of range, none); the rest is the file.
** Invariant: one VM per process; the script catches the reader's errors, so the VM is clean after
** every input (an uncaught error would also leave it reset, by ax_vm_finish). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "anx.h"
#include "fuzz_common.h"

static anx_vm *vm;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  if (!vm) {
    /* the script's output is not what is under test; libFuzzer reports on stderr */
    int fd = open("/dev/null", O_WRONLY);
    if (fd >= 0) { dup2(fd, 1); close(fd); }
    if (!(vm = anx_vm_new())) abort();
  }
  static const char *const labels[] = {"", ", label: \"label\"", ", label: 0", ", label: 1",
                                       ", label: -1", ", label: \"b\"", ", label: 99", ", label: nil"};
  const char *path = fuzz_write_temp(data + 1, size - 1, ".csv");
  if (!path) return 0;
  char src[1024];
  int n = snprintf(src, sizeof src,
                   "import data\ntry {\n  let r = data.csv(\"%s\", header: %s%s)\n  print(r)\n"
                   "} catch e {\n  print(e.message)\n}\n",
                   path, data[0] & 8 ? "false" : "true", labels[data[0] & 7]);
  if (anx_vm_run_string(vm, "fuzz_csv.anx", src, (size_t)n) == ANX_COMPILE_ERROR) abort();
  return 0;
}
