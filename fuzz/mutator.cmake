# fuzz/mutator.cmake -- the custom mutator (fuzz/mutator*.c), its unit test's
# link, the `differential` target (engine server vs OpenSSL libssl's server)
# and its corpus generator. Included from the top-level CMakeLists.txt after
# the unit tests are defined.
#
# Builds, as the fuzzing contract says:
#   TD_FUZZ_LINK non-empty  -> fuzz_differential linked with exactly those flags
#                              (+ the A/B benchmark builds with TD_FUZZER_NO_LINK)
#   otherwise               -> replay_differential (the shared fuzz/replay_main.c)
set(TD_FUZZ_DIR ${CMAKE_SOURCE_DIR}/fuzz)

add_library(td_fuzz_mutator STATIC ${TD_FUZZ_DIR}/mutator.c ${TD_FUZZ_DIR}/mutator_ch.c)
target_link_libraries(td_fuzz_mutator PUBLIC tlsdrill)
target_include_directories(td_fuzz_mutator PUBLIC ${TD_FUZZ_DIR})
if(TD_FUZZER_NO_LINK)
  target_compile_options(td_fuzz_mutator PRIVATE -fsanitize=fuzzer-no-link)
endif()

if(TARGET test_fuzz_mutator)
  target_link_libraries(test_fuzz_mutator PRIVATE td_fuzz_mutator)
endif()

# The test certificates: td_fuzz_certs (fuzz/embed_certs.cmake).

# ---- differential: engine server vs libssl's server (libssl only here) ----
add_library(td_fuzz_differential STATIC ${TD_FUZZ_DIR}/differential.c)
target_link_libraries(td_fuzz_differential PUBLIC td_fuzz_mutator td_fuzz_certs tlsdrill OpenSSL::SSL)
target_include_directories(td_fuzz_differential PUBLIC ${TD_FUZZ_DIR})
target_compile_definitions(td_fuzz_differential PRIVATE OPENSSL_API_COMPAT=30000)
if(TD_FUZZER_NO_LINK)
  target_compile_options(td_fuzz_differential PRIVATE -fsanitize=fuzzer-no-link)
endif()

if(NOT TD_FUZZ_LINK STREQUAL "")
  # A fuzzing engine from the flags (presets: -fsanitize=fuzzer; OSS-Fuzz:
  # $LIB_FUZZING_ENGINE).
  add_executable(fuzz_differential ${TD_FUZZ_DIR}/differential.c)
  separate_arguments(_td_fuzz_link UNIX_COMMAND "${TD_FUZZ_LINK}")
  target_link_options(fuzz_differential PRIVATE ${_td_fuzz_link})
  target_link_libraries(fuzz_differential PRIVATE td_fuzz_mutator td_fuzz_certs OpenSSL::SSL)
  if(TD_FUZZER_NO_LINK)
    target_compile_options(fuzz_differential PRIVATE -fsanitize=fuzzer-no-link)
  endif()
  if(TD_FUZZ_LINK_CXX)
    set_target_properties(fuzz_differential PROPERTIES LINKER_LANGUAGE CXX)
  endif()
  set(_td_diff_exe fuzz_differential)
  if(TD_FUZZER_NO_LINK)
    # The A/B benchmark of fuzz/README-mutator.md: the target with and without
    # the custom mutator, both reporting findings without stopping.
    foreach(_ab fuzz_differential_ab_mut fuzz_differential_ab_nomut)
      add_executable(${_ab} ${TD_FUZZ_DIR}/differential.c)
      target_compile_definitions(${_ab} PRIVATE TD_DIFF_REPORT_ONLY=1 OPENSSL_API_COMPAT=30000)
      target_compile_options(${_ab} PRIVATE -fsanitize=fuzzer)
      target_link_options(${_ab} PRIVATE -fsanitize=fuzzer)
      target_link_libraries(${_ab} PRIVATE td_fuzz_mutator td_fuzz_certs OpenSSL::SSL)
      target_include_directories(${_ab} PRIVATE ${TD_FUZZ_DIR})
      set_target_properties(${_ab} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
    endforeach()
    target_compile_definitions(fuzz_differential_ab_nomut PRIVATE TD_DIFF_NO_CUSTOM_MUTATOR=1)
  endif()
else()
  add_executable(replay_differential ${TD_FUZZ_DIR}/replay_main.c)
  target_link_libraries(replay_differential PRIVATE td_fuzz_differential)
  set(_td_diff_exe replay_differential)
endif()
target_include_directories(${_td_diff_exe} PRIVATE ${TD_FUZZ_DIR})
target_compile_definitions(${_td_diff_exe} PRIVATE OPENSSL_API_COMPAT=30000)
set_target_properties(${_td_diff_exe} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)

if(TARGET test_fuzz_differential)
  target_link_libraries(test_fuzz_differential PRIVATE td_fuzz_differential)
  target_compile_definitions(test_fuzz_differential PRIVATE
                             TD_DIFF_CORPUS_DIR="${CMAKE_SOURCE_DIR}/corpus/differential")
endif()

# ---- the seed corpus generator: td_gen_differential_corpus corpus/differential ----
add_executable(td_gen_differential_corpus ${TD_FUZZ_DIR}/gen_differential_corpus.c)
target_link_libraries(td_gen_differential_corpus PRIVATE tlsdrill)
set_target_properties(td_gen_differential_corpus PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
