/* runtime/cuda/cuda_hd.h — CU_HD marks the element functions of the device code (pool.cuh,
** random.cuh, optim.cuh, loss.cuh): __host__ __device__ under nvcc, plain inline C++ otherwise, so
** tests/cuda/test_cuda_host.cpp runs the very code the kernels run, on the host, against the CPU.
** Invariant: element functions use only what both sides have (integer math, + - * /, sqrt, exp,
** log, sin, cos, erf, isnan, isinf) and touch memory only through their pointer arguments. */
#ifndef AX_CUDA_HD_H
#define AX_CUDA_HD_H

#ifdef __CUDACC__
#define CU_HD __host__ __device__ __forceinline__
#else
#include <cmath>
#define CU_HD inline
using std::cos;
using std::erf;
using std::exp;
using std::isinf;
using std::isnan;
using std::log;
using std::pow;
using std::sin;
using std::sqrt;
#endif

#include <stdint.h>

#endif
