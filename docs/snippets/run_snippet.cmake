# Runs one docs snippet (EXE); fails on a non-zero exit and, when EXPECTED exists, when stdout
# differs from it. Refresh the expected files with: tools/check_doc_snippets.py --outputs BUILD_DIR
execute_process(COMMAND ${EXE} OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${EXE} exited with ${rc}\nstdout:\n${out}\nstderr:\n${err}")
endif()
if(EXISTS ${EXPECTED})
  file(READ ${EXPECTED} expected)
  if(NOT out STREQUAL expected)
    message(FATAL_ERROR "${EXE}: stdout differs from ${EXPECTED}, which the docs show.\n"
                        "--- expected ---\n${expected}--- got ---\n${out}--- end ---\n"
                        "If the new output is right, run tools/check_doc_snippets.py --outputs BUILD_DIR "
                        "then --update, and review the docs diff.")
  endif()
endif()
message(STATUS "${EXE}: ok")
