# The TOML 1.0.0 conformance suite (tests/toml-test, vendored from toml-lang/toml-test):
# toml_decoder implements the toml-test decoder interface over harness/toml.c, and toml_suite
# runs every listed case through it (valid: JSON compared semantically; invalid: rejected).
add_executable(toml_decoder ${CMAKE_CURRENT_SOURCE_DIR}/toml_decoder.c)
target_link_libraries(toml_decoder PRIVATE benchharness)  # jansson comes with benchharness (PUBLIC)
add_executable(toml_suite ${CMAKE_CURRENT_SOURCE_DIR}/toml_suite.c)
target_link_libraries(toml_suite PRIVATE benchharness)  # jansson comes with benchharness (PUBLIC)
add_test(NAME toml_suite
  COMMAND toml_suite $<TARGET_FILE:toml_decoder> ${CMAKE_CURRENT_SOURCE_DIR}/toml-test)
