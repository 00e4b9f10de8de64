# libFuzzer targets (issue #7): tests/fuzz/fuzz_{toml,idx,exp}.c with seed corpora in
# tests/fuzz/corpus_{toml,idx,exp}/. Off by default; scripts/ci-fuzz configures
#   -DBENCH_FUZZ=ON -DCMAKE_C_COMPILER=clang
# and runs each target for a bounded time. With the option on, the libraries are instrumented
# for coverage (-fsanitize=fuzzer-no-link) and, like the targets, built with ASan+UBSan; a CTest
# test per target replays its seed corpus once (a regression test of past findings).
option(BENCH_FUZZ "build the libFuzzer targets in tests/fuzz (needs clang)" OFF)
if(BENCH_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "BENCH_FUZZ needs clang (libFuzzer); configure with -DCMAKE_C_COMPILER=clang")
  endif()
  set(BENCH_FUZZ_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  foreach(lib benchcore benchharness)
    target_compile_options(${lib} PRIVATE -fsanitize=fuzzer-no-link ${BENCH_FUZZ_FLAGS})
  endforeach()
  foreach(name fuzz_toml fuzz_idx fuzz_exp)
    add_executable(${name} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/${name}.c)
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer ${BENCH_FUZZ_FLAGS})
    target_link_options(${name} PRIVATE -fsanitize=fuzzer ${BENCH_FUZZ_FLAGS})
    target_link_libraries(${name} PRIVATE benchharness)
    string(REPLACE "fuzz_" "corpus_" corpus ${name})
    # -runs=0 with a directory: execute every file of the corpus once, then stop.
    add_test(NAME ${name}_corpus
      COMMAND ${name} -runs=0 ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/${corpus})
  endforeach()
endif()
