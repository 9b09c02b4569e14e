# ctest script: `upsample --checkerboard` must exit 0, write its picture, and for both randomly initialised
# transposed convolutions print a trained ripple below half the ripple at initialisation (60 steps shrink
# it about ten times; after 10 steps it is still larger than at the start). Arguments:
# -DUPSAMPLE=<upsample executable> -DDIR=<scratch folder>.
file(REMOVE_RECURSE ${DIR})
execute_process(COMMAND ${UPSAMPLE} --checkerboard --steps 60 --batch 4 --eval-images 6 --threads 1 --out ${DIR}
  OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "upsample --checkerboard failed (${rc}):\n${out}")
endif()
if(NOT EXISTS ${DIR}/upsample_checkerboard.png)
  message(FATAL_ERROR "upsample --checkerboard did not write ${DIR}/upsample_checkerboard.png")
endif()
# Table rows: name, PSNR (dB), ripple at init, ripple trained.
set(number "([0-9]+\\.[0-9]+)")
foreach(variant "k4 s2, random init" "k3 s2, random init")
  if(NOT out MATCHES "${variant} +${number} +${number} +${number}")
    message(FATAL_ERROR "no table row for '${variant}' in:\n${out}")
  endif()
  set(initial ${CMAKE_MATCH_2})
  set(trained ${CMAKE_MATCH_3})
  # Twice the trained ripple, in the printed 5 decimals as integers (math() has no floating point).
  foreach(v initial trained)
    string(REGEX MATCH "^([0-9]+)\\.([0-9][0-9][0-9][0-9][0-9])$" ok "${${v}}")
    if(NOT ok)
      message(FATAL_ERROR "${variant}: ripple '${${v}}' is not printed with 5 decimals")
    endif()
    set(whole ${CMAKE_MATCH_1})
    string(REGEX REPLACE "^0+([0-9])" "\\1" frac "${CMAKE_MATCH_2}")
    math(EXPR ${v}_e5 "${whole} * 100000 + ${frac}")
  endforeach()
  math(EXPR twice "2 * ${trained_e5}")
  if(NOT twice LESS initial_e5)
    message(FATAL_ERROR "${variant}: trained ripple ${trained} is not below half the initial ${initial}:\n${out}")
  endif()
  message(STATUS "${variant}: ripple ${initial} -> ${trained}")
endforeach()
