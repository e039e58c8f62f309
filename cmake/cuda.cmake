# cmake/cuda.cmake — the ANX_CUDA switch (AUTO | ON | OFF). AUTO builds the CUDA backend when nvcc
# is found (CUDACXX, PATH, or /usr/local/cuda/bin/nvcc); ON requires it; OFF never builds it. A
# GPU is never needed to build: without one, asking for cuda at run time is a clear error.
# Instrumented builds (ANX_SANITIZE, ANX_FUZZ, ANX_COVERAGE) stay CPU-only under AUTO.
# The backend needs cuDNN too (ANX_CUDNN_LIB, ANX_CUDNN_INCLUDE). Sets ANX_HAVE_CUDA;
# runtime/cuda/CMakeLists.txt then builds the backend module (libanx_cuda.so) and adds its loader
# to anx_runtime.
set(ANX_HAVE_CUDA OFF)
string(TOUPPER "${ANX_CUDA}" _anx_cuda)
if(NOT _anx_cuda MATCHES "^(AUTO|ON|OFF)$")
  message(FATAL_ERROR "ANX_CUDA must be AUTO, ON or OFF (got '${ANX_CUDA}')")
endif()
# SASS for sm_80 (A100) and sm_90 (H100/H200) plus compute_90 PTX for newer GPUs; see docs/cuda.md
# for the build-time cost and how to build one architecture while iterating.
set(ANX_CUDA_ARCHS "80-real;90-real;90-virtual" CACHE STRING "CMAKE_CUDA_ARCHITECTURES of the CUDA backend")

if(_anx_cuda STREQUAL "OFF")
  message(STATUS "anx: CUDA backend off (ANX_CUDA=OFF)")
elseif(ANX_SANITIZE OR ANX_FUZZ OR ANX_COVERAGE)
  if(_anx_cuda STREQUAL "ON")
    message(FATAL_ERROR "ANX_CUDA=ON cannot be combined with ANX_SANITIZE, ANX_FUZZ or ANX_COVERAGE (CPU-only builds)")
  endif()
  message(STATUS "anx: CUDA backend off (instrumented build)")
else()
  if(NOT DEFINED CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX} AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc CACHE FILEPATH "CUDA compiler")
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(CMAKE_CUDA_ARCHITECTURES "${ANX_CUDA_ARCHS}")
    set(CMAKE_CUDA_STANDARD 17)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    set(CMAKE_CUDA_RUNTIME_LIBRARY Shared)   # one cudart (the shared one CUDA::cudart names)
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    # cuDNN 9 (convolutions) ships next to the toolkit on these machines; it has no CUDAToolkit target
    find_library(ANX_CUDNN_LIB cudnn HINTS ${CUDAToolkit_LIBRARY_DIR} ${CUDAToolkit_LIBRARY_ROOT}/lib)
    find_path(ANX_CUDNN_INCLUDE cudnn.h HINTS ${CUDAToolkit_INCLUDE_DIRS})
    if(ANX_CUDNN_LIB AND ANX_CUDNN_INCLUDE)
      set(ANX_HAVE_CUDA ON)
      enable_language(CXX)   # tests/cuda/test_cuda_host.cpp runs the kernels' element code on the host
      message(STATUS "anx: CUDA backend on (${CMAKE_CUDA_COMPILER}, CUDA ${CUDAToolkit_VERSION}, archs ${ANX_CUDA_ARCHS}, ${ANX_CUDNN_LIB})")
    elseif(_anx_cuda STREQUAL "ON")
      message(FATAL_ERROR "ANX_CUDA=ON but cuDNN (libcudnn, cudnn.h) was not found next to CUDA ${CUDAToolkit_VERSION}")
    else()
      message(STATUS "anx: CUDA backend off (nvcc found, but no cuDNN)")
    endif()
  elseif(_anx_cuda STREQUAL "ON")
    message(FATAL_ERROR "ANX_CUDA=ON but no nvcc was found (set CUDACXX or install CUDA under /usr/local/cuda)")
  else()
    message(STATUS "anx: CUDA backend off (no nvcc found)")
  endif()
endif()
