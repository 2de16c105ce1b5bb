# fuzz/mutator.cmake -- the custom mutator (fuzz/mutator*.c), its unit test's
# link, the `differential` target (engine server vs OpenSSL libssl's server)
# and its corpus generator. Included from the top-level CMakeLists.txt after
# the unit tests are defined.
#
# Builds, as the fuzzing contract says:
#   TD_FUZZ_LINK non-empty  -> fuzz_differential linked with exactly those flags
#   TD_FUZZER_NO_LINK (libfuzzer preset) -> fuzz_differential, -fsanitize=fuzzer
#   otherwise               -> replay_differential (fuzz/differential_replay_main.c)
set(TD_FUZZ_DIR ${CMAKE_SOURCE_DIR}/fuzz)
set(TD_FUZZ_LINK "" CACHE STRING "Link flags for fuzz targets (e.g. $LIB_FUZZING_ENGINE); empty = replay main")

add_library(td_fuzz_mutator STATIC ${TD_FUZZ_DIR}/mutator.c ${TD_FUZZ_DIR}/mutator_ch.c)
target_link_libraries(td_fuzz_mutator PUBLIC tlsdrill)
target_include_directories(td_fuzz_mutator PUBLIC ${TD_FUZZ_DIR})
if(TD_FUZZER_NO_LINK)
  target_compile_options(td_fuzz_mutator PRIVATE -fsanitize=fuzzer-no-link)
endif()

if(TARGET test_fuzz_mutator)
  target_link_libraries(test_fuzz_mutator PRIVATE td_fuzz_mutator)
endif()
