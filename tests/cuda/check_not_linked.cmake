# tests/cuda/check_not_linked.cmake — (cmake -P) the CUDA libraries are the module's business only:
# no executable in BINARIES has a DT_NEEDED on cudart, cuBLAS(Lt) or cuDNN; the module has (so the
# check can see one); `anx -e ''` loads no CUDA library and no module (LD_DEBUG=files), while a
# script that asks for cuda does dlopen the module.
set(_cuda_libs "lib(cudart|cublas|cublasLt|cudnn[a-z_]*)\\.so")
foreach(bin IN LISTS BINARIES)
  execute_process(COMMAND ${READELF} -d ${bin} OUTPUT_VARIABLE _dyn RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "readelf -d ${bin} failed")
  endif()
  if(_dyn MATCHES "NEEDED[^\n]*${_cuda_libs}")
    message(FATAL_ERROR "${bin} links a CUDA library: ${CMAKE_MATCH_0}")
  endif()
endforeach()
execute_process(COMMAND ${READELF} -d ${MODULE} OUTPUT_VARIABLE _dyn)
if(NOT _dyn MATCHES "NEEDED[^\n]*libcudart\\.so")
  message(FATAL_ERROR "${MODULE} has no DT_NEEDED on libcudart: the check above would see nothing")
endif()

execute_process(COMMAND ${CMAKE_COMMAND} -E env LD_DEBUG=files ${ANX} -e ""
                OUTPUT_VARIABLE _out ERROR_VARIABLE _trace RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "anx -e '' failed (${_rc}): ${_out}")
endif()
if(_trace MATCHES "file=[^\n]*(libanx_cuda|${_cuda_libs})[^\n]*")
  message(FATAL_ERROR "a CPU-only run loaded ${CMAKE_MATCH_0}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E env LD_DEBUG=files ${ANX} -e "ones([2]).to(\"cuda\")"
                OUTPUT_VARIABLE _out ERROR_VARIABLE _trace)
if(NOT _trace MATCHES "file=[^\n]*libanx_cuda\\.so")
  message(FATAL_ERROR "asking for cuda did not load libanx_cuda.so; LD_DEBUG saw:\n${_trace}")
endif()
message(STATUS "no executable links CUDA; a CPU-only run loads no CUDA library")
