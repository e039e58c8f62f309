/* tests/unit_runtime/fake_device.h — a fake accelerator for the CPU suite: "cuda:0" answered by a
** backend whose memory is host pages mapped PROT_NONE except while its own functions (alloc,
** upload, download, kernels) copy through them, so host code that dereferences a device pointer
** crashes the test instead of passing. Kernels download their inputs, run the CPU kernel, upload.
** Invariant: device memory is touched only inside fake_device.c. */
#ifndef FAKE_DEVICE_H
#define FAKE_DEVICE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint64_t uploads, downloads;   /* bus transfers: the vtable's, and copies to the CPU (packed on the */
  uint64_t up_bytes, down_bytes; /* device, then downloaded); the kernels' own mirroring is not counted */
  uint64_t kernels;              /* kernel calls on the device */
  uint64_t allocs, frees;
  size_t in_use, peak;
} fake_device_stats;

/* Register the fake backend for the accelerator device type (ax_backend_register): call before any
** tensor exists on cuda:0. 0 on success; prints the reason and returns 1 otherwise. */
int fake_device_install(void);
fake_device_stats fake_device_get_stats(void);

#endif
